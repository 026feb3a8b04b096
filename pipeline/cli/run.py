"""`benefits run`: the main job, every configured site end to end, then marts and benefits."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.cli import app, freeze_heap
from pipeline.cli._console import console, err, error, escape, setup_logging, warn

SitesOption = Annotated[
    Path | None, typer.Option("--sites", help="folder of site configs (default: deploy/sites)", file_okay=False)
]
SiteFilter = Annotated[list[str] | None, typer.Option("--site", help="only this site (ODS code); repeatable")]
WarehouseOption = Annotated[
    str | None, typer.Option("--warehouse", help="SQLAlchemy URL; default BENEFITS_WAREHOUSE_URL or embedded DuckDB")
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="log progress in detail")]
Wait = Annotated[
    bool, typer.Option("--wait", help="if another process holds the DuckDB warehouse, wait for it (default: stop at once)")
]
SummaryJson = Annotated[
    Path | None, typer.Option("--summary-json", help="also write the run's result (outcomes, timings) as JSON here")
]


# Below this many columns the full summary cut its numbers short ("1,234,…"): narrower terminals
# get it without the dataset column (the source names it), short headings and no vertical rules.
_FULL_SUMMARY_WIDTH = 110


def _summary_table(result: dict, width: int | None = None) -> Table:
    narrow = (width or console.width) < _FULL_SUMMARY_WIDTH
    table = Table(title="Run summary", show_lines=False, box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD, pad_edge=not narrow, collapse_padding=narrow)
    for col, justify in (
        ("site", "left"),
        ("source", "left"),
        ("dataset", "left"),
        ("status", "left"),
        ("extracted", "right"),
        ("loaded", "right"),
        ("quarantined", "right"),
        ("seconds", "right"),
    ):
        if narrow:
            if col == "dataset":
                continue
            col = {"extracted": "rows in", "quarantined": "quarant.", "seconds": "s"}.get(col, col)
        table.add_column(col, justify=justify, no_wrap=narrow)
    styles = {"loaded": "green", "up_to_date": "cyan", "held": "yellow", "failed": "red"}
    for o in result["outcomes"]:
        cells = [
            o["site_code"],
            o["source_name"],
            o["dataset"],
            f"[{styles.get(o['status'], 'white')}]{o['status']}[/]",
            f"{o['rows_in']:,}",
            f"{o['rows_loaded']:,}",
            f"{o['rows_quarantined']:,}",
            f"{o['seconds']:.1f}",
        ]
        if narrow:
            del cells[2]
        table.add_row(*cells)
    return table


def _summary_totals(result: dict) -> str:
    """The run summary in one line, for a log that already holds a line per source."""
    outcomes = result["outcomes"]
    statuses: dict[str, int] = {}
    for o in outcomes:
        statuses[o["status"]] = statuses.get(o["status"], 0) + 1
    by_status = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    rows = [sum(o[k] for o in outcomes) for k in ("rows_in", "rows_loaded", "rows_quarantined")]
    return (f"Run summary: {len(outcomes)} source(s) ({by_status or 'none'}); "
            f"{rows[0]:,} rows in, {rows[1]:,} loaded, {rows[2]:,} quarantined")


def _same_destination(a, b) -> bool:
    """Whether two streams write to one file or pipe (as with `2>&1`)."""
    try:
        sa, sb = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (AttributeError, OSError, ValueError):  # a stream with no file behind it
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _value_cell(wh, schema: str) -> str:
    """Evidenced value (never a negative headline) and, apart, the cost of evidenced harms."""
    if not wh.table_exists(schema, "benefit_value_summary"):
        return ""
    v = wh.query(f"select value_evidenced_gbp as v, disbenefit_cost_gbp as c from {schema}.benefit_value_summary")
    if v.empty:
        return ""
    text = f"£{float(v['v'].iloc[0]):,.0f}"
    cost = float(v["c"].iloc[0])
    return text + (f" (cost £{cost:,.0f})" if cost > 0 else "")


def _site_table(sites, wh) -> Table:
    """Per site: measures built and where its benefits stand (latest month)."""
    table = Table(title="Sites", show_lines=False)
    for col, justify in (("site", "left"), ("name", "left"), ("measures", "right"), ("benefits", "right"),
                         ("status", "left"), ("evidenced value", "right")):  # fmt: skip
        table.add_column(col, justify=justify)
    measures = wh.query(
        "select site_code, count(distinct measure_code) as n from measures.measure_monthly group by site_code"
    ).set_index("site_code")["n"]
    for s in sites:
        if s.role != "trust":
            continue
        statuses = wh.query(f"select status, count(*) as n from {s.schema}.fact_benefit where is_latest group by status")
        text = ", ".join(f"{n} {st}" for st, n in sorted(zip(statuses["status"], statuses["n"]), key=lambda x: str(x[0])))
        table.add_row(s.ods_code, escape(s.name), str(int(measures.get(s.ods_code, 0))), str(int(statuses["n"].sum())), text,
                      _value_cell(wh, s.schema))
    return table


class _ProgressView:
    """Turns pipeline progress events into Rich progress bars."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.overall = None
        self.current = None

    def __call__(self, event: str, **data) -> None:
        p = self.progress
        if event == "run_started":
            self.overall = p.add_task("sites", total=len(data["sites"]))
        elif event == "source_started":
            self.current = p.add_task(f"{data['site']}/{data['source']} ({data['dataset']})", total=None)
        elif event == "source_finished" and self.current is not None:
            p.update(
                self.current,
                total=1,
                completed=1,
                description=f"{data['site_code']}/{data['source_name']}: {data['status']} "
                f"({data['rows_in']:,} rows, {data['rows_quarantined']:,} quarantined)",
            )
        elif event == "site_finished" and self.overall is not None:
            p.advance(self.overall)
        elif event == "stage":
            self.current = p.add_task(f"building {data['name']}", total=None)
        elif event == "model_built" and self.current is not None:
            p.update(self.current, description=f"built {data['model']}")


def _preflight(warehouse: str | None, summary_json: Path | None, wait: bool = False):
    """Settings, folders, the summary file and the warehouse connection, all checked in seconds
    before Prefect starts; the first problem ends the command in one line."""
    from pipeline.cli._preflight import (
        PreflightError, check_duckdb_memory, check_home, check_output_file, check_prefect_home, check_warehouse,
    )  # fmt: skip
    from pipeline.config.settings import SettingsError, alert_timeout_seconds, load_settings

    try:
        settings = load_settings()
        alert_timeout_seconds()
        check_home(settings.home)
        check_prefect_home()
        if summary_json:
            check_output_file(summary_json, "--summary-json")
        check_warehouse(
            settings.warehouse_url, "--warehouse" if warehouse else "BENEFITS_WAREHOUSE_URL", warn if wait else None
        )
        check_duckdb_memory(settings)
    except (PreflightError, SettingsError) as e:
        error(e, "cannot run")
        raise typer.Exit(2) from None
    return settings


def _hold_warehouse(settings, name: str, wait: bool) -> None:
    """Open the warehouse before any flow does, and keep it open to the end of the run (the
    engine's pool keeps the connection). Another process could otherwise take a DuckDB file
    between the preflight and a flow's first open, or between stages, and the run met it there
    as a minute of retries and three tracebacks (issue 15 #6). Opening here obeys the same
    policy as every later open: --wait waits with a message, otherwise one line and exit 2."""
    from pipeline.runtime import warehouse as get_warehouse
    from pipeline.warehouse.duckdb_lock import WarehouseInUse, set_wait

    set_wait(warn if wait else None)
    try:
        with get_warehouse(settings).connect():
            pass
    except WarehouseInUse as e:
        from pipeline.warehouse.core import redact_url

        # worded as the preflight words it: the user cannot tell (or care) which open met the lock
        error(f"{name} {redact_url(settings.warehouse_url)}: cannot open: {e.problem}", "cannot run")
        raise typer.Exit(2) from None


class _LineView:
    """Progress as one plain line per step, for output that is not a terminal (CI logs, files),
    where the progress bars show nothing."""

    def __init__(self):
        self.shown: set[tuple[str, str]] = set()  # (site, source) already reported in a line

    def __call__(self, event: str, **data) -> None:
        if event == "run_started":
            line = f"run: {len(data['sites'])} site(s): {', '.join(data['sites'])}"
        elif event == "source_finished":
            line = (f"{data['site_code']}/{data['source_name']} ({data['dataset']}): {data['status']}, "
                    f"{data['rows_in']:,} rows, {data['rows_loaded']:,} loaded, {data['rows_quarantined']:,} quarantined, "
                    f"{data['seconds']:.1f} s")
            self.shown.add((data["site_code"], data["source_name"]))
        elif event == "site_finished":
            # not "site <code>: ...", the form the closing list of failures uses
            line = f"{data['site']}: {data.get('status') or 'finished'}"
        elif event == "stage":
            line = f"building {data['name']}"
        else:  # source_started, model_built: a line each would drown the steps
            return
        err.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command()
def run(
    sites: SitesOption = None,
    site: SiteFilter = None,
    warehouse: WarehouseOption = None,
    verbose: Verbose = False,
    summary_json: SummaryJson = None,
    wait: Wait = False,
):
    """Run every configured site end to end (extract, validate, load), then marts and benefits."""
    setup_logging(verbose)
    if warehouse:
        os.environ["BENEFITS_WAREHOUSE_URL"] = warehouse
    from flows.ephemeral_api import reap_orphans, start_ephemeral_api

    reap_orphans()  # a dead run's server goes even when this run stops at the checks below
    settings = _preflight(warehouse, summary_json, wait)
    _check_sites(sites, site)
    # Boots while the imports below run; its own output goes to a log file, not the terminal.
    adopt_api = start_ephemeral_api(settings.home / "logs" / "prefect-api.log")
    import flows.national_run  # noqa: F401  the flows and Prefect, imported while the API boots
    from pipeline.warehouse.core import redact_url
    _hold_warehouse(settings, "--warehouse" if warehouse else "BENEFITS_WAREHOUSE_URL", wait)
    console.print(f"warehouse: {redact_url(settings.warehouse_url)}", highlight=False)
    t0 = time.perf_counter()
    import great_expectations  # noqa: F401  every batch needs it; imported while the API boots

    freeze_heap()
    adopt_api()
    result, view = _national_run(sites, site)
    if summary_json:
        summary_json.write_text(json.dumps({**result, "seconds": time.perf_counter() - t0}, indent=2, default=str))
    _print_summary(result, view)
    _print_sites(result, settings, sites, site)
    _print_outcome(result, t0)


def _check_sites(sites: Path | None, site: list[str] | None) -> None:
    """Every site config readable and runnable (exit 2 on the first problem), then its baseline warnings;
    before Prefect's server boots: a mistake in a site file is a second's wait, not a boot's."""
    from pipeline.config.register_checks import baseline_warnings
    from pipeline.config.sites import ConfigError
    from pipeline.runtime import check_runnable, get_sites

    try:
        configs = get_sites(sites, site)
        for config in configs:
            check_runnable(config)
    except ConfigError as e:
        error(e, "configuration error", sep="\n")
        raise typer.Exit(2) from None
    for config in configs:
        for w in baseline_warnings(config):
            warn(w)


def _national_run(sites: Path | None, site: list[str] | None) -> tuple[dict, _ProgressView | _LineView]:
    """The national run, its progress shown as bars on a terminal, else as a line per step."""
    from flows.common import api_url, quiet_subflows
    from flows.national_run import national_run
    from pipeline import progress

    bars = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True
    )
    with bars if err.is_terminal else contextlib.nullcontext():
        view = _ProgressView(bars) if err.is_terminal else _LineView()
        unsubscribe = progress.subscribe(view)
        try:
            with contextlib.nullcontext() if api_url() else quiet_subflows():
                result = national_run(sites_dir=str(sites) if sites else None, sites=site)
        finally:
            unsubscribe()
    return result, view


def _print_summary(result: dict, view: _ProgressView | _LineView) -> None:
    if isinstance(view, _LineView) and _same_destination(sys.stdout, sys.stderr):
        # The progress lines (stderr) are in the very log the summary goes to (`2>&1`, a CI
        # job's output): a row per source would say each of them again. So the table keeps only
        # the sources no line reported (a worker's), under one line of totals. A terminal's
        # panel is cleared, and stdout read alone keeps the full table.
        rest = [o for o in result["outcomes"] if (o["site_code"], o["source_name"]) not in view.shown]
        if rest:
            console.print(_summary_table({**result, "outcomes": rest}))
        console.print(_summary_totals(result), highlight=False, markup=False, soft_wrap=True)
    else:
        console.print(_summary_table(result))
    # Under the table, where a run's outcome is read, and for sites run by a worker too (whose
    # progress events never reach this process): what a config change did, or did not do.
    for o in result["outcomes"]:
        if o.get("note"):
            console.print(o["note"], highlight=False, markup=False, soft_wrap=True)


def _print_sites(result: dict, settings, sites: Path | None, site: list[str] | None) -> None:
    from pipeline.runtime import get_sites, warehouse as get_warehouse

    try:
        console.print(_site_table(get_sites(sites, site), get_warehouse(settings)))
    except Exception as e:  # the summary must not turn a finished run into a failure
        err.print(f"(site summary unavailable: {e})", highlight=False, markup=False)
    if result.get("report"):
        console.print(f"report: {result['report']}", highlight=False)


def _print_outcome(result: dict, t0: float) -> None:
    """What was built, then any problem (a site or a benefit), which exits 1."""
    benefits = result["benefits"]
    console.print(
        f"{len(result['models'])} models built; {benefits['benefits']} benefits evaluated "
        f"({benefits['rows']} benefit-month rows); {time.perf_counter() - t0:.1f} s",
        highlight=False,
    )
    if benefits.get("new_signals"):
        n = benefits["new_signals"]
        console.print(f"{n} unplanned-change signal{'s' if n > 1 else ''} new or reopened: `benefits signals list --state new`",
                      highlight=False)  # fmt: skip
    problems = list(benefits["problems"])
    for code, why in result["failed_sites"].items():
        problems.append(f"site {code}: {why}")
    if problems:
        err.print("[red]FAILED[/]", markup=True)
        for p in problems:
            err.print(f"  {p}", highlight=False, markup=False)
        raise typer.Exit(1)
