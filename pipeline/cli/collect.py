"""`benefits collect`: the national collector, checking and merging the packages trusts submitted."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pipeline.cli import app
from pipeline.cli._console import console, error, exit_unless_folder, setup_logging
from pipeline.cli.run import WarehouseOption

_STYLE = {"accepted": "green", "rejected": "red", "failed": "yellow"}


@app.command("collect")
def collect_command(
    source: Annotated[str, typer.Option("--from", help="where trusts submit: a folder or URL (s3://bucket/path) with inbox/")],
    keys: Annotated[Path, typer.Option("--keys", help="the registry of site public keys: a file of "
                                       "'<ODS> ed25519 <base64>' lines or a folder of <ODS>.pub files")],  # fmt: skip
    warehouse: WarehouseOption = None,
    deadline_day: Annotated[int, typer.Option("--deadline-day", min=1, max=31, help="a month's data is late if "
                                              "submitted after this day of the next month")] = 15,  # fmt: skip
    today: Annotated[str | None, typer.Option("--today", hidden=True, help="YYYY-MM-DD, for demos and tests")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="write the national HTML report (with the "
                                                "completeness board) here; default $BENEFITS_HOME/reports")] = None,  # fmt: skip
    blueprints: Annotated[Path | None, typer.Option("--blueprints", file_okay=False,
                                                    help="folder of Blueprints trusts shared: adds blueprints.html "
                                                    "to the report")] = None,  # fmt: skip
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Check every complete package in the inbox (signature, files, rows, disclosure control), merge
    the good ones into the national warehouse, move each to accepted/ or rejected/ with a receipt,
    and rebuild the completeness board. A rejected package does not stop the others."""
    setup_logging(verbose)
    exit_unless_folder(blueprints, "--blueprints")
    from pipeline.federation.collect import build_national_marts, collect

    registry = _registry(keys)
    day = _today(today)
    settings, wh = _national_warehouse(warehouse)
    try:
        result = collect(source, wh, registry, threshold=settings.suppression_threshold, today=day,
                         deadline_day=deadline_day)  # fmt: skip
    except (OSError, ValueError) as e:  # the exchange location itself: missing, unreadable, a bad URL
        error(f"{source}: {e}", "cannot collect")
        raise typer.Exit(2) from None
    if result.packages:
        console.print(_packages_table(source, result.packages))
    built = build_national_marts(wh, settings.suppression_threshold)
    pages = _build_report(wh, report or settings.home / "reports", blueprints)
    console.print(
        f"{len(result.packages)} package(s): {result.count('accepted')} accepted, {result.count('rejected')} rejected"
        + (f", {result.count('failed')} left in the inbox after an error" if result.count("failed") else "")
        + f"; completeness board: {result.board_rows} rows" + ("; national marts rebuilt" if built else ""),
        highlight=False,
    )
    console.print(f"report: {pages.index}", highlight=False)
    if result.count("failed"):
        raise typer.Exit(1)


def _registry(keys: Path):
    from pipeline.federation.keys import KeyProblem, load_registry

    try:
        return load_registry(keys)
    except KeyProblem as e:
        error(e, "key registry")
        raise typer.Exit(2) from None


def _today(today: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(today) if today else None
    except ValueError:
        error(f"--today: expected YYYY-MM-DD, got {today!r}", "usage")
        raise typer.Exit(2) from None


def _national_warehouse(warehouse: str | None):
    """Settings and the national warehouse, which may start empty: collecting creates its tables."""
    import os

    from pipeline.cli._preflight import exit_unless_warehouse
    from pipeline.config.settings import load_settings
    from pipeline.runtime import warehouse as open_wh

    if warehouse:
        os.environ["BENEFITS_WAREHOUSE_URL"] = warehouse
    settings = load_settings()
    exit_unless_warehouse(settings.warehouse_url, "--warehouse" if warehouse else "BENEFITS_WAREHOUSE_URL",
                          must_exist=False)  # fmt: skip
    return settings, open_wh(settings)


def _packages_table(source: str, packages) -> Table:
    table = Table(title=f"Packages in {escape(source)}")
    for col in ("package", "site", "status", "reasons"):
        table.add_column(col)
    for p in packages:
        reasons = "\n".join(escape(r) for r in p.reasons)
        if p.replaces:
            reasons = "replaces " + ", ".join(p.replaces)
        table.add_row(p.package, p.site_code or "?", f"[{_STYLE[p.status]}]{p.status}[/]", reasons)
    return table


def _build_report(wh, out: Path, blueprints: Path | None):
    """The national HTML report (and, with --blueprints, the Blueprints page, listed on the terminal)."""
    from pipeline.report.build import build as build_report

    pages = build_report(wh, [], out, site_pages=False, national=True, blueprints=blueprints)
    if pages.blueprints is not None:
        from pipeline.cli.blueprint import report_collected

        report_collected(pages.blueprints)
    return pages
