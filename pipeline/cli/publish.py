"""`benefits publish`: freeze a month's benefit figures, and list restatements of published months."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import typer
from rich.markup import escape

from pipeline.cli import app
from pipeline.cli._console import console, err, setup_logging
from pipeline.cli.run import SitesOption, WarehouseOption


def _month(text: str) -> dt.date:
    m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        err.print(f"--as-of: expected a month as YYYY-MM, got {escape(text)!r}", highlight=False)
        raise typer.Exit(2)
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


@app.command()
def publish(
    as_of: Annotated[str, typer.Option("--as-of", help="the month to publish, YYYY-MM")],
    site: Annotated[str | None, typer.Option("--site", help="only this site (ODS code)")] = None,
    sites: SitesOption = None,
    warehouse: WarehouseOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Freeze what is reported for a month: its fact_benefit rows go to published_benefit (national
    and local marts) with the register version they used. Published rows never change; a later run
    that would state them differently records a restatement in benefit_restatement instead."""
    setup_logging(verbose)
    month = _month(as_of)
    from pipeline.cli._preflight import open_warehouse
    from pipeline.config.sites import ConfigError
    from pipeline.marts.publication import publish as freeze
    from pipeline.runtime import get_sites

    try:
        configs = [s for s in get_sites(sites, [site.upper()] if site else None) if s.role == "trust"]
    except ConfigError as e:
        err.print(f"configuration error: {escape(str(e))}", highlight=False)
        raise typer.Exit(2) from None
    _, wh = open_warehouse(warehouse)
    if not wh.table_exists("measures", "fact_benefit_all"):
        err.print("nothing to publish: run `benefits run` first (no benefit figures in the warehouse)", highlight=False)
        raise typer.Exit(1)
    available = wh.scalar(
        "select count(*) from measures.fact_benefit_all where as_of_month = :m" + (" and site_code = :s" if site else ""),
        {"m": month, "s": site.upper() if site else None},
    )
    if not available:
        err.print(f"no benefit figures for {month:%Y-%m}" + (f" at {escape(site.upper())}" if site else ""), highlight=False)
        raise typer.Exit(1)
    counts = freeze(wh, month, {s.ods_code: s.schema for s in configs}, site.upper() if site else None)
    already = int(available) - counts["local"]
    console.print(
        f"published {month:%Y-%m}: {counts['local']} benefit rows ({counts['national']} national-scope)"
        + (f"; {already} already published and left unchanged" if already else ""),
        highlight=False,
    )
