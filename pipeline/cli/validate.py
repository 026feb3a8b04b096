"""`benefits validate`: check a file against a dataset contract's suite, without a warehouse."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.table import Table

from pipeline.cli import app
from pipeline.cli._console import console, err, error, setup_logging


def _rule_table(report) -> Table:
    table = Table(title=f"{report.dataset}: {report.input}", show_lines=False)
    for col, justify in (
        ("expectation", "left"),
        ("category", "left"),
        ("severity", "left"),
        ("unexpected", "right"),
        ("%", "right"),
        ("result", "left"),
    ):
        table.add_column(col, justify=justify)
    for r in report.results:
        if r.passed:
            verdict = "[green]passed[/]"
        elif r.rule.severity == "warning":
            verdict = "[yellow]warning[/]"
        else:
            verdict = "[red]failed[/]"
        pct = "" if r.unexpected_percent is None else f"{r.unexpected_percent:.3f}"
        count = "" if r.unexpected_count is None else f"{r.unexpected_count:,}"
        if r.exception:
            count = r.exception
        table.add_row(r.rule.name, r.rule.category, r.rule.severity, count, pct, verdict)
    return table


@app.command()
def validate(
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="dataset contract, e.g. medication_administrations")],
    input: Annotated[
        Path, typer.Option("--input", "-i", help="CSV, Parquet or XLSX file (or a quoted glob: one batch of files)")
    ],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write the report as JSON here")] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="use this site's column names, formats and code mappings (ODS code)")
    ] = None,
    sites: Annotated[
        Path | None, typer.Option("--sites", help="folder of site configs (default: deploy/sites)", file_okay=False)
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="with --site: which of its sources (default: the first of the dataset)")
    ] = None,
    as_of: Annotated[
        dt.datetime | None, typer.Option("--as-of", help="validate as at this time (not-in-future rules); default now")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Validate a file against a dataset contract's suite and report per rule.

    Exit status: 0 when every fatal and error rule passes (warnings allowed), 1 when rows would
    be quarantined or the batch held, 2 when the file or options cannot be used.
    """
    setup_logging(verbose)
    from dataset_contracts.contracts import CONTRACTS
    from pipeline.ingest.check_file import FileValidator

    if dataset not in CONTRACTS:
        error(f"unknown dataset {dataset!r}; known: {', '.join(sorted(CONTRACTS))}")
        raise typer.Exit(2)
    site_config = _site_config(sites, site) if site else None
    try:
        with FileValidator() as fv:
            report = fv.validate(dataset, input, site=site_config, source_name=source, as_of=as_of)
    except (OSError, ValueError, RuntimeError, duckdb.Error) as e:  # connector and parse errors name the file
        error(e, f"cannot validate {input.name}")
        raise typer.Exit(2) from None
    _print_report(report)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report.to_json(), indent=2, default=str) + "\n", encoding="utf-8")
        console.print(f"report written to {output}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


def _site_config(sites: Path | None, site: str):
    from pipeline.config.sites import ConfigError
    from pipeline.runtime import get_sites

    try:
        return get_sites(sites, [site])[0]
    except (ConfigError, IndexError) as e:
        error(e or f"no site {site}", "configuration error", sep="\n")
        raise typer.Exit(2) from None


def _print_report(report) -> None:
    """Schema drift (stderr), the rule table, the rows' fate and why the batch would be held."""
    for d in report.drift:
        err.print(f"schema drift ({d['severity']}): {d['message']}", highlight=False, markup=False)
    console.print(_rule_table(report))
    console.print(
        f"{report.total_rows:,} rows: {report.valid_rows:,} valid, {report.quarantined_rows:,} would be quarantined"
        + ("; the batch would be HELD" if report.held else ""),
        highlight=False,
    )
    for reason in report.hold_reasons:
        console.print(f"  held: {reason}", highlight=False, markup=False)
