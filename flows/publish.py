"""What runs leave behind for people: Prefect artifacts per site, and alerts to the webhook.

`ingest-site` publishes its outcomes as a table artifact. That table is also how a national
run on another machine learns what happened in a site run it started through a deployment
(flow results are not shared between workers unless result storage is configured; artifacts
always live on the server).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, is_dataclass

import sqlalchemy as sa
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from expectations.docs import build_batch_docs
from expectations.report import batch_markdown
from flows.common import artifact_key, load_secret
from pipeline.alerts import Alert, deliver, webhook_url
from pipeline.config.settings import load_settings
from pipeline.config.sites import SiteConfig
from pipeline.runtime import warehouse
from pipeline.warehouse.core import Warehouse, ident, sql_literal

log = logging.getLogger(__name__)

OUTCOME_COLUMNS = (
    "site_code",
    "source_name",
    "dataset",
    "status",
    "rows_in",
    "rows_loaded",
    "rows_quarantined",
    "dq_rules",
    "dq_passed",
    "batch_id",
    "reason",
    "note",
    "seconds",
    "docs_seconds",
)


def ingest_artifact_key(site_code: str) -> str:
    return artifact_key("ingest-site", site_code)


def dq_counts(wh: Warehouse, batch_ids: list[str]) -> dict[str, tuple[int, int]]:
    """batch_id -> (rules evaluated, rules passed), from meta.dq_result."""
    ids = [b for b in batch_ids if b]
    if not ids:
        return {}
    frame = wh.query(
        "select batch_id, count(*) as rules, sum(case when passed then 1 else 0 end) as passed "
        f"from meta.dq_result where batch_id in ({', '.join(sql_literal(b) for b in ids)}) group by batch_id"
    )
    return {r.batch_id: (int(r.rules), int(r.passed or 0)) for r in frame.itertuples()}


def with_dq(wh: Warehouse, outcomes: list[dict]) -> list[dict]:
    counts = dq_counts(wh, [o.get("batch_id") for o in outcomes if o.get("status") in ("loaded", "held")])
    for o in outcomes:
        rules, passed = counts.get(o.get("batch_id"), (None, None))
        o["dq_rules"], o["dq_passed"] = rules, passed
    return outcomes


def publish_ingest_table(site_code: str, outcomes: list[dict]) -> None:
    rows = [{c: o.get(c) for c in OUTCOME_COLUMNS} for o in outcomes]
    for r in rows:
        r["seconds"] = round(float(r["seconds"] or 0), 3)
        r["docs_seconds"] = round(float(r["docs_seconds"] or 0), 3)
    create_table_artifact(
        table=rows or [{c: None for c in OUTCOME_COLUMNS}],
        key=ingest_artifact_key(site_code),
        description=f"ingest-site {site_code}: one row per source (rows in, loaded, quarantined, DQ rules passed)",
    )


def outcomes_from_table_artifact(data: str | list | None) -> list[dict]:
    """Read back what publish_ingest_table wrote (the API returns the table as JSON text)."""
    table = json.loads(data) if isinstance(data, str) else (data or [])
    return [dict(r) for r in table if isinstance(r, dict) and r.get("source_name")]


def _pct(passed, rules) -> str:
    if not rules:
        return "–"
    return f"{passed}/{rules} ({100.0 * passed / rules:.0f}%)"


def benefit_statuses(wh: Warehouse, site: SiteConfig) -> list[dict]:
    """Each planned benefit's status as of the latest month in the site's local mart."""
    table = ident(f"{site.schema}.fact_benefit")
    try:
        frame = wh.query(
            f"select f.benefit_id, f.measure_code, f.as_of_month, f.status from {table} f "
            f"join (select benefit_id, max(as_of_month) as m from {table} group by benefit_id) l "
            "on f.benefit_id = l.benefit_id and f.as_of_month = l.m order by f.benefit_id"
        )
    except sa.exc.SQLAlchemyError:
        return []
    return frame.to_dict("records")


def site_markdown(site: SiteConfig, run: dict, outcomes: list[dict], benefits: list[dict]) -> str:
    status = run.get("status", "unknown")
    lines = [f"## {site.ods_code}: {site.name}", ""]
    facts = [f"site run: **{status}**"]
    if run.get("worker"):
        facts.append(f"worker `{run['worker']}`")
    if run.get("seconds") is not None:
        facts.append(f"{run['seconds']:.1f} s")
    lines += [", ".join(facts), ""]
    if run.get("reason"):
        lines += [f"> {run['reason']}", ""]
    lines += [
        "| source | dataset | status | rows in | loaded | quarantined | DQ rules passed |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.get('source_name')} | {o.get('dataset')} | {o.get('status')} | {o.get('rows_in') or 0:,} | "
            f"{o.get('rows_loaded') or 0:,} | {o.get('rows_quarantined') or 0:,} | "
            f"{_pct(o.get('dq_passed'), o.get('dq_rules'))} |"
        )
    if not outcomes:
        lines.append("| – | – | no outcome reported | | | | |")
    lines += ["", "| benefit | measure | as of | status |", "|---|---|---|---|"]
    for b in benefits:
        month = b.get("as_of_month")
        month = month.strftime("%Y-%m") if hasattr(month, "strftime") else (str(month)[:7] if month else "–")
        lines.append(f"| {b['benefit_id']} | {b.get('measure_code')} | {month} | {b.get('status')} |")
    if not benefits:
        lines.append("| – | – | – | no benefits evaluated |")
    return "\n".join(lines) + "\n"


def publish_site_report(site: SiteConfig, run: dict, outcomes: list[dict], benefits: list[dict]) -> None:
    create_markdown_artifact(
        markdown=site_markdown(site, run, outcomes, benefits),
        key=artifact_key("site", site.ods_code),
        description=f"{site.ods_code}: rows in, loaded, quarantined, DQ pass rate, benefit statuses",
    )


def benefits_markdown(wh: Warehouse, sites: list[SiteConfig]) -> str:
    lines = ["# Benefit statuses", "", "| site | benefit | measure | as of | status |", "|---|---|---|---|---|"]
    for site in sites:
        if site.role != "trust":
            continue
        for b in benefit_statuses(wh, site):
            month = b.get("as_of_month")
            month = month.strftime("%Y-%m") if hasattr(month, "strftime") else str(month)[:7]
            lines.append(f"| {site.ods_code} | {b['benefit_id']} | {b.get('measure_code')} | {month} | {b.get('status')} |")
    return "\n".join(lines) + "\n"


def publish_benefits(wh: Warehouse, sites: list[SiteConfig]) -> None:
    create_markdown_artifact(
        markdown=benefits_markdown(wh, sites),
        key="benefit-statuses",
        description="every planned benefit's latest status, per site",
    )


def summary_markdown(result: dict) -> str:
    runs = result.get("site_runs", {})
    lines = [
        f"# National run ({result.get('mode')} fan-out)",
        "",
        f"{len(runs)} sites, {len(result.get('failed_sites', {}))} not complete; "
        f"{len(result.get('models', []))} models built; "
        f"{result.get('benefits', {}).get('benefits', 0)} benefits evaluated.",
        "",
        "| site | run | worker | seconds | loaded rows | problem |",
        "|---|---|---|---:|---:|---|",
    ]
    loaded: dict[str, int] = {}
    for o in result.get("outcomes", []):
        loaded[o["site_code"]] = loaded.get(o["site_code"], 0) + int(o.get("rows_loaded") or 0)
    for code, run in sorted(runs.items()):
        problem = result.get("failed_sites", {}).get(code, "")
        problem = problem.replace("|", "/").replace("\n", " ")[:200]
        seconds = run.get("seconds")
        lines.append(
            f"| {code} | {run.get('status')} | {run.get('worker') or ''} | "
            f"{'' if seconds is None else f'{seconds:.1f}'} | {loaded.get(code, 0):,} | {problem} |"
        )
    return "\n".join(lines) + "\n"


def publish_summary(result: dict) -> None:
    create_markdown_artifact(
        markdown=summary_markdown(result),
        key="national-run-summary",
        description="every site's run, worker, time and problem",
    )


@task(name="build-data-docs-index", cache_policy=NO_CACHE)
def docs_index_task() -> float:
    """Render the Data Docs index over every validation kept so far; returns the seconds taken."""
    import time

    from expectations.docs import build_batch_docs
    from pipeline.config.settings import load_settings

    t = time.perf_counter()
    build_batch_docs(load_settings(), [], index=True)
    return time.perf_counter() - t


def raise_alerts(alerts: list[Alert]) -> None:
    """Log alerts, then send them if a webhook is configured; never fails or stalls the calling
    flow. Delivery is a plain call with a short timeout and one quick retry, not a Prefect task
    with the I/O retry policy: that waited minutes on a dead webhook and logged its traceback."""
    if not alerts:
        return
    from pipeline.alerts import alerts_configured

    logger = get_run_logger()
    for a in alerts:
        logger.warning("alert: %s", a.summary)
    if not alerts_configured():
        return
    url = webhook_url(load_secret)
    if url:
        deliver(alerts, url)


def publish_batch_artifact(outcome, *, settings=None, wh=None, index: bool = True) -> str | None:
    """Build the batch's Data Docs page (and the index unless `index` is False: a run of many
    batches renders it once at the end) and publish its Prefect artifact; returns the artifact key.

    Never raises: a reporting problem must not fail an ingest that has already committed.
    """
    if is_dataclass(outcome):
        outcome = asdict(outcome)
    batch_id = outcome.get("batch_id")
    if not batch_id:
        return None  # nothing was extracted (up to date), so nothing was validated
    try:
        settings = settings or load_settings()
        wh = wh or warehouse(settings)
        dq = wh.query(
            "select expectation, category, severity, unexpected_count, unexpected_percent, observed_value, passed "
            "from meta.dq_result where batch_id = :b",
            {"b": batch_id},
        )
        page = build_batch_docs(settings, [batch_id], index=index)
        key = artifact_key("dq", outcome["site_code"], outcome["source_name"])
        create_markdown_artifact(
            markdown=batch_markdown(outcome, dq, str(page) if page else None),
            key=key,
            description=f"Validation of batch {batch_id} ({outcome['dataset']})",
        )
        return key
    except Exception as exc:
        log.warning("could not publish the data-quality artifact for batch %s: %s", batch_id, exc)
        return None
