"""`benefits quarantine list|show|release`: inspect rejected rows and reprocess them after a fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli import app
from pipeline.cli._console import console, err, error, escape, setup_logging

quarantine_app = typer.Typer(
    name="quarantine",
    help="Rows that failed data-quality rules: list them, show them with reasons, release them after a fix.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app)

WarehouseOption = Annotated[
    str | None, typer.Option("--warehouse", help="SQLAlchemy URL; default BENEFITS_WAREHOUSE_URL or embedded DuckDB")
]


def _warehouse(url: str | None):
    from pipeline.cli._preflight import open_warehouse

    settings, wh = open_warehouse(url)
    if not wh.table_exists("meta", "load_batch"):
        err.print("the warehouse has no meta.load_batch yet; run `benefits run` first", highlight=False)
        raise typer.Exit(2)
    return settings, wh


def _fail(message: str) -> None:
    error(message, "error")
    raise typer.Exit(2)


@quarantine_app.command("list")
def list_(
    site: Annotated[str | None, typer.Option("--site", help="only this site (ODS code)")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="only this dataset")] = None,
    warehouse: WarehouseOption = None,
):
    """Batches with quarantined rows: rows and the rules they failed."""
    setup_logging(False)
    from pipeline.ingest import quarantine

    _, wh = _warehouse(warehouse)
    try:
        frame = quarantine.summary(wh, site=site, dataset=dataset)
    except KeyError as e:
        _fail(str(e).strip("\"'"))
    if frame.empty:
        console.print("no quarantined rows", highlight=False)
        return
    table = Table(title="Quarantined rows by batch")
    for col, justify in (
        ("batch", "left"),
        ("site", "left"),
        ("dataset", "left"),
        ("source", "left"),
        ("status", "left"),
        ("months", "left"),
        ("rows", "right"),
        ("rules failed (rows)", "left"),
    ):
        table.add_column(col, justify=justify)
    for r in frame.to_dict("records"):
        months = "" if r["first_month"] is None else f"{r['first_month']:%Y-%m}"
        if r["last_month"] is not None and r["last_month"] != r["first_month"]:
            months += f" to {r['last_month']:%Y-%m}"
        rules = ", ".join(f"{k} ({v:,})" for k, v in sorted(r["rules"].items(), key=lambda kv: -kv[1]))
        status = r["status"] or "?"
        if r["connector"] == "quarantine-release":
            status += " (release)"
        table.add_row(r["batch_id"], r["site_code"], r["dataset"], r["source_name"], status, months, f"{r['rows']:,}", rules)
    console.print(table)


@quarantine_app.command("show")
def show(
    batch: Annotated[str, typer.Argument(help="batch id (or a unique prefix of it)")],
    rule: Annotated[str | None, typer.Option("--rule", help="only rows that failed this rule")] = None,
    limit: Annotated[int, typer.Option("--limit", help="rows to show", min=1)] = 20,
    warehouse: WarehouseOption = None,
):
    """A batch's quarantined rows: original values, the rules each failed, values that did not parse."""
    setup_logging(False)
    from dataset_contracts.safe_text import visible
    from pipeline.ingest import quarantine

    _, wh = _warehouse(warehouse)
    try:
        info = quarantine.find_batch(wh, batch)
        frame = quarantine.rows(wh, info["batch_id"], rule=rule, limit=limit)
    except quarantine.QuarantineError as e:
        _fail(str(e))
    console.print(
        f"batch {info['batch_id']}: {info['site_code']}/{info['source_name']} ({info['dataset']}), status "
        f"{info['status']}, {info['rows_quarantined']:,} of {info['rows_in']:,} rows quarantined when loaded",
        highlight=False,
    )
    if info.get("reason"):
        console.print(f"reason: {info['reason']}", highlight=False, markup=False)
    if frame.empty:
        console.print("no quarantined rows match", highlight=False)
        return
    # quarantined values are the source's own text: brackets in them are not markup, escape
    # sequences in them are not obeyed, and a megabyte value is not printed whole
    cells = [["" if v is None or (isinstance(v, float) and v != v) else escape(visible(str(v))) for v in row]
             for row in frame.itertuples(index=False)]  # fmt: skip
    names = [col.lstrip("_") for col in frame.columns]
    if _fits_as_table(names, cells, console.width):
        table = Table(show_lines=True)
        for name in names:
            table.add_column(name, overflow="fold")
        for row in cells:
            table.add_row(*row)
        console.print(table)
        return
    # Too wide for the terminal: a table would fold every value into a sliver. One row per block,
    # one `column: value` line each, reads at any width.
    for i, row in enumerate(cells, 1):
        block = Table.grid(padding=(0, 1))
        block.add_column(style="bold", no_wrap=True)
        block.add_column(overflow="fold")
        for name, value in zip(names, row):
            block.add_row(name, value)
        console.print(f"row {i} of {len(cells)}", style="dim", highlight=False)
        console.print(block)


def _fits_as_table(names: list[str], cells: list[list[str]], width: int) -> bool:
    """Whether every column can show its widest value (3 characters of border each)."""
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    return sum(w + 3 for w in widths) + 1 <= width


@quarantine_app.command("release")
def release(
    batch: Annotated[str, typer.Argument(help="batch id (or a unique prefix) whose quarantined rows to reprocess")],
    sites: Annotated[
        Path | None, typer.Option("--sites", help="folder of site configs (default: deploy/sites)", file_okay=False)
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate and report, change nothing")] = False,
    as_of: Annotated[dt.datetime | None, typer.Option("--as-of", help="validate as at this time; default now")] = None,
    warehouse: WarehouseOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Re-apply the site's current mappings to a batch's quarantined rows, re-validate, load what passes.

    What passes goes to staging and what still fails stays quarantined, both as a new release
    batch in meta.load_batch (released_from = this batch). A held batch can be released too.
    """
    setup_logging(verbose)
    from pipeline.ingest import quarantine
    from pipeline.config.sites import ConfigError
    from pipeline.runtime import get_sites, validator

    settings, wh = _warehouse(warehouse)
    try:
        info = quarantine.find_batch(wh, batch)
        site = get_sites(sites, [info["site_code"]])
        if not site:
            _fail(f"no site config for {info['site_code']} in {sites or 'deploy/sites'}")
        outcome = quarantine.release(wh, site[0], info["batch_id"], validator=validator(wh), as_of=as_of, dry_run=dry_run)
    except (quarantine.QuarantineError, ConfigError) as e:
        _fail(str(e))
    if not dry_run and outcome.results is not None:
        from expectations.docs import build_batch_docs, save_validation

        if save_validation(settings, outcome.results, batch_id=outcome.batch_id, site_code=outcome.site_code,
                           source_name=info["source_name"], dataset=outcome.dataset):  # fmt: skip
            build_batch_docs(settings, [outcome.batch_id])
    verb = "would load" if dry_run else "loaded"
    console.print(
        f"{'dry run: ' if dry_run else ''}batch {outcome.released_from}: {outcome.rows_in:,} quarantined rows "
        f"re-validated; {verb} {outcome.rows_loaded:,}, {outcome.rows_quarantined:,} still fail"
        + ("" if dry_run else f" (release batch {outcome.batch_id})"),
        highlight=False,
    )
    for name, n in sorted(outcome.rules.items(), key=lambda kv: -(kv[1] or 0)):
        console.print(f"  still failing {name}: {n:,} rows", highlight=False)
    if outcome.watermark_advanced:
        console.print("  the source's watermark now includes the held batch's files", highlight=False)
    if not dry_run and outcome.rows_loaded:
        # released rows are in staging; measures, marts and benefits are built by a run
        console.print("the marts and benefit figures include them after the next `benefits run`", highlight=False)
