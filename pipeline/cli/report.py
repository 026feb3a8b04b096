"""`benefits report`: the HTML benefits report (per site and national) from the warehouse marts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli._console import console, err, error, exit_unless_folder, setup_logging


@app.command()
def report(
    site: Annotated[
        list[str] | None, typer.Option("--site", help="only this site's page (ODS code); repeatable")
    ] = None,
    national: Annotated[
        bool, typer.Option("--national", help="only the national page (national mart: small numbers withheld)")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="folder to write (default: BENEFITS_HOME/reports)", file_okay=False),
    ] = None,
    sites: Annotated[
        Path | None, typer.Option("--sites", help="folder of site configs (default: deploy/sites)", file_okay=False)
    ] = None,
    warehouse: Annotated[
        str | None,
        typer.Option("--warehouse", help="SQLAlchemy URL; default BENEFITS_WAREHOUSE_URL or embedded DuckDB"),
    ] = None,
    blueprints: Annotated[
        Path | None,
        typer.Option("--blueprints", help="folder of Blueprint files trusts shared: adds blueprints.html, by kind of system",
                     file_okay=False),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Write the HTML report: index.html, national.html and sites/<ODS>.html, self-contained.

    With neither --site nor --national, every configured site and the national page. With
    --site, those sites' pages (and --national adds the national page); with --national alone,
    the national page and an index of national-scope benefits only. With --blueprints, also
    blueprints.html: the Blueprints in that folder side by side by kind of system (a file that is
    not a valid Blueprint is named with its reason and left out).
    """
    setup_logging(verbose)
    exit_unless_folder(blueprints, "--blueprints")
    if warehouse:
        os.environ["BENEFITS_WAREHOUSE_URL"] = warehouse
    from pipeline.cli._preflight import PreflightError, check_output_folder, exit_unless_warehouse
    from pipeline.config.sites import ConfigError
    from pipeline.report import build, check_report
    from pipeline.runtime import get_sites
    from pipeline.runtime import warehouse as get_warehouse
    from pipeline.config.settings import load_settings
    from pipeline.warehouse.core import redact_url

    settings = load_settings()
    try:
        configs = get_sites(sites)
        if site:
            get_sites(sites, site)  # names an unknown code with the folder it looked in
    except ConfigError as e:
        error(e, "configuration error", sep="\n")
        raise typer.Exit(2) from None
    out = output or settings.reports_dir
    try:
        check_output_folder(out, "--output" if output else "BENEFITS_HOME reports folder")
    except PreflightError as e:
        error(e, "cannot write the report")
        raise typer.Exit(2) from None
    exit_unless_warehouse(settings.warehouse_url, "--warehouse" if warehouse else "BENEFITS_WAREHOUSE_URL")
    wh = get_warehouse(settings)
    try:
        result = build(
            wh,
            configs,
            out,
            site_pages=[s.upper() for s in site] if site else (not national),
            national=national or not site,
            blueprints=blueprints,
        )
    except ValueError as e:
        error(e, "cannot build the report")
        raise typer.Exit(2) from None
    except Exception as e:  # a warehouse that cannot be read: say which, without its password
        error(e, f"cannot read the warehouse {redact_url(settings.warehouse_url)}")
        raise typer.Exit(1) from None
    problems = check_report(result.out_dir)
    for page in result.pages:
        console.print(f"wrote {page}", highlight=False)
    if result.blueprints is not None:
        from pipeline.cli.blueprint import report_collected

        report_collected(result.blueprints)
    for note in sorted(set(result.notes)):
        error(f"note: {note}")
    if problems:
        err.print("[red]the report failed its link and asset check[/]", markup=True)
        for p in problems:
            err.print(f"  {p}", highlight=False, markup=False)
        raise typer.Exit(1)
    console.print(f"open {result.index}", highlight=False)
