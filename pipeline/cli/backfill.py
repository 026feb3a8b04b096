"""`benefits backfill`: reprocess one site's months idempotently, then rebuild marts and benefits."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli import app
from pipeline.cli._console import console, err, error, setup_logging


@app.command()
def backfill(
    site: Annotated[str, typer.Option("--site", help="the site's ODS code")],
    first: Annotated[str, typer.Option("--from", help="first month to reprocess, YYYY-MM")],
    last: Annotated[str, typer.Option("--to", help="last month to reprocess, YYYY-MM (inclusive)")],
    source: Annotated[list[str] | None, typer.Option("--source", help="only this source; repeatable")] = None,
    sites: Annotated[
        Path | None, typer.Option("--sites", help="folder of site configs (default: deploy/sites)", file_okay=False)
    ] = None,
    warehouse: Annotated[
        str | None, typer.Option("--warehouse", help="SQLAlchemy URL; default BENEFITS_WAREHOUSE_URL or embedded DuckDB")
    ] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild/--no-rebuild", help="rebuild marts and benefits afterwards")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress in detail")] = False,
):
    """Re-extract and reload SITE's months FROM..TO; running it again changes nothing."""
    setup_logging(verbose)
    if warehouse:
        os.environ["BENEFITS_WAREHOUSE_URL"] = warehouse
    from flows.common import load_secret
    from pipeline.alerts import alerts_for_outcomes, send_alerts
    from pipeline.cli._preflight import exit_unless_warehouse
    from pipeline.backfill import BackfillError, backfill as run_backfill
    from pipeline.config.settings import load_settings
    from pipeline.warehouse.core import redact_url

    settings = load_settings()
    period, all_sites, chosen = _request(first, last, sites, site)
    exit_unless_warehouse(settings.warehouse_url, "--warehouse" if warehouse else "BENEFITS_WAREHOUSE_URL", must_exist=False)
    console.print(
        f"backfill {chosen.ods_code} {period[0]:%Y-%m} to {period[1]:%Y-%m}; warehouse: {redact_url(settings.warehouse_url)}",
        highlight=False,
    )
    t0 = time.perf_counter()
    try:
        result = run_backfill(settings, chosen, all_sites, period, sources=source, rebuild=rebuild)
    except BackfillError as e:
        error(e, "cannot backfill", sep="\n")
        raise typer.Exit(2) from None

    console.print(_outcomes_table(chosen.ods_code, period, result.outcomes))
    if rebuild:
        console.print(
            f"{len(result.models)} models rebuilt; {result.benefits} benefits evaluated; "
            f"{time.perf_counter() - t0:.1f} s",
            highlight=False,
        )
    send_alerts(alerts_for_outcomes([o.__dict__ for o in result.outcomes]), load_secret=load_secret)
    problems = [f"{o.source_name}: {o.status}: {o.reason}" for o in result.outcomes if not o.ok] + result.problems
    if problems:
        err.print("[red]FAILED[/]", markup=True)
        for p in problems:
            err.print(f"  {p}", highlight=False, markup=False)
        raise typer.Exit(1)


def _request(first: str, last: str, sites: Path | None, site: str):
    """(period, every site, the site to backfill); a bad month or site config exits 2."""
    from pipeline.backfill import BackfillError, month_range
    from pipeline.config.sites import ConfigError
    from pipeline.runtime import get_sites

    try:
        period = month_range(first, last)
        all_sites = get_sites(sites)
        chosen = get_sites(sites, [site])[0]
    except (BackfillError, ConfigError) as e:
        error(e, "cannot backfill", sep="\n")
        raise typer.Exit(2) from None
    return period, all_sites, chosen


def _outcomes_table(code: str, period, outcomes) -> Table:
    table = Table(title=f"Backfill {code} {period[0]:%Y-%m}..{period[1]:%Y-%m}")
    for col, justify in (("source", "left"), ("dataset", "left"), ("status", "left"), ("extracted", "right"),
                         ("loaded", "right"), ("quarantined", "right"), ("batch", "left")):  # fmt: skip
        table.add_column(col, justify=justify)
    for o in outcomes:
        table.add_row(
            o.source_name,
            o.dataset,
            o.status,
            f"{o.rows_in:,}",
            f"{o.rows_loaded:,}",
            f"{o.rows_quarantined:,}",
            o.batch_id or "",
        )
    return table
