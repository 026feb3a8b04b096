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
    dbt_docs: Annotated[
        bool, typer.Option("--dbt-docs/--no-dbt-docs", help="also the dbt docs site of sql/ (dbt-docs/index.html), linked from the index")
    ] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Write the HTML report: index.html, national.html and sites/<ODS>.html, self-contained.

    With neither --site nor --national, every configured site and the national page. With
    --site, those sites' pages (and --national adds the national page); with --national alone,
    the national page and an index of national-scope benefits only. With --blueprints, also
    blueprints.html: the Blueprints in that folder side by side by kind of system (a file that is
    not a valid Blueprint is named with its reason and left out). Unless --no-dbt-docs, also
    dbt-docs/index.html: `dbt docs generate --static` of sql/ with the vars of `benefits dbt build`.
    """
    setup_logging(verbose)
    exit_unless_folder(blueprints, "--blueprints")
    if warehouse:
        os.environ["BENEFITS_WAREHOUSE_URL"] = warehouse
    from pipeline.config.settings import load_settings
    from pipeline.report import check_report
    from pipeline.runtime import warehouse as get_warehouse

    settings = load_settings()
    configs = _configs(sites, site)
    out = _output_folder(output or settings.reports_dir, "--output" if output else "BENEFITS_HOME reports folder")
    from pipeline.cli._preflight import exit_unless_warehouse

    exit_unless_warehouse(settings.warehouse_url, "--warehouse" if warehouse else "BENEFITS_WAREHOUSE_URL")
    wh = get_warehouse(settings)
    result = _build(wh, configs, out, site, national, blueprints, settings.warehouse_url)
    docs = _write_dbt_docs(wh, configs, result.index, settings.suppression_threshold) if dbt_docs else None
    problems = check_report(result.out_dir)
    _print_result(result, docs)
    _exit_on_problems(problems)
    if dbt_docs and docs is None:
        raise typer.Exit(1)
    console.print(f"open {result.index}", highlight=False)


def _configs(sites: Path | None, site: list[str] | None) -> list:
    from pipeline.config.sites import ConfigError
    from pipeline.runtime import get_sites

    try:
        configs = get_sites(sites)
        if site:
            get_sites(sites, site)  # names an unknown code with the folder it looked in
    except ConfigError as e:
        error(e, "configuration error", sep="\n")
        raise typer.Exit(2) from None
    return configs


def _output_folder(out: Path, name: str) -> Path:
    from pipeline.cli._preflight import PreflightError, check_output_folder

    try:
        check_output_folder(out, name)
    except PreflightError as e:
        error(e, "cannot write the report")
        raise typer.Exit(2) from None
    return out


def _build(wh, configs: list, out: Path, site: list[str] | None, national: bool, blueprints: Path | None, url: str):
    from pipeline.report import build
    from pipeline.warehouse.core import redact_url

    try:
        return build(
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
        error(e, f"cannot read the warehouse {redact_url(url)}")
        raise typer.Exit(1) from None


def _write_dbt_docs(wh, configs: list, index: Path, threshold: int) -> Path | None:
    """The dbt docs site beside the report, linked from its index; None (said why) when dbt failed."""
    from pipeline.marts.dbt import DbtError
    from pipeline.marts.dbt_docs import link_from_index, write_dbt_docs

    try:
        page = write_dbt_docs(wh, configs, index.parent, suppression_threshold=threshold)
    except DbtError as e:
        error(e, "cannot write the dbt docs site")
        return None
    link_from_index(index)
    return page


def _print_result(result, docs: Path | None) -> None:
    for page in [*result.pages, *([docs] if docs else [])]:
        console.print(f"wrote {page}", highlight=False)
    if result.blueprints is not None:
        from pipeline.cli.blueprint import report_collected

        report_collected(result.blueprints)
    for note in sorted(set(result.notes)):
        error(f"note: {note}")


def _exit_on_problems(problems: list[str]) -> None:
    from pipeline.marts.dbt_docs import report_problems

    problems = report_problems(problems)  # dbt's own page is not the report's
    if problems:
        err.print("[red]the report failed its link and asset check[/]", markup=True)
        for p in problems:
            err.print(f"  {p}", highlight=False, markup=False)
        raise typer.Exit(1)
