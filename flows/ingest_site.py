"""`ingest-site`: every source of one site, extracted, validated and loaded as its own batch.

Runs on each trust's own schedule (deployment `ingest-site/site-daily`, possibly on a worker
near the trust's data) or is started per site by `national-run`. Publishes its outcomes as a
table artifact and alerts on held batches and failed sources.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict

from prefect import flow, get_run_logger, task

from flows.common import (
    IO_ERRORS,
    IO_TASK,
    LazyValidator,
    current_flow_run_id,
    quiet_subflows,
    site_config,
    source_system_tag,
)
from flows.publish import publish_batch_artifact, docs_index_task, publish_ingest_table, raise_alerts, with_dq
from pipeline import progress
from pipeline.alerts import alerts_for_outcomes
from pipeline.ingest.source import SourceOutcome, ingest_source
from pipeline.warehouse.locks import load_lock, schema_lock
from pipeline.runtime import warehouse
from pipeline.config.settings import debug_enabled, load_settings
from pipeline.warehouse.ddl import ensure_schema
from pipeline.warehouse.duckdb_lock import WarehouseInUse


class SourceUnavailable(ConnectionError):
    """The source stayed unreachable through the connector's own retries; worth another go later."""


@task(name="prepare-site", **IO_TASK)
def prepare_site_task(site_code: str, sites_dir: str | None) -> None:
    """Schemas and tables this site loads into (a scheduled site run may meet a new warehouse)."""
    site = site_config(sites_dir, site_code)
    wh = warehouse(load_settings())
    with schema_lock(wh):
        ensure_schema(wh, [site.schema] if site.role == "trust" else [])


@task(
    name="ingest-source",
    task_run_name="ingest-{site_code}-{source_name}",
    **IO_TASK,
)
def ingest_source_task(
    site_code: str,
    source_name: str,
    sites_dir: str | None,
    flow_run_id: str | None,
    period: tuple[dt.date, dt.date] | None = None,
) -> dict:
    settings = load_settings()
    site = site_config(sites_dir, site_code)
    source = next(s for s in site.sources if s.name == source_name)
    wh = warehouse(settings)
    progress.emit("source_started", site=site_code, source=source_name, dataset=source.dataset)
    try:
        with load_lock(wh, site_code, source_name):
            outcome = ingest_source(
                wh, site, source, settings=settings, validator=LazyValidator(wh), flow_run_id=flow_run_id, period=period
            )
    except IO_ERRORS:
        raise  # the warehouse or a lock: retried by Prefect with backoff
    except WarehouseInUse:
        raise  # another process holds the DuckDB file: the run stops and says which, not per source
    except Exception as exc:  # a bug in one source must not stop the others
        outcome = SourceOutcome(site_code, source_name, source.dataset, "failed", reason=f"{type(exc).__name__}: {exc}")
        get_run_logger().error("%s/%s failed: %s", site_code, source_name, outcome.reason, exc_info=debug_enabled())
    docs_started = time.perf_counter()
    # The data-quality artifact and the batch's Data Docs page; the flow renders the index once.
    publish_batch_artifact(outcome, settings=settings, wh=wh, index=False)
    if outcome.status == "failed" and outcome.batch_id:
        # ingest_source marks only transient extract errors "failed" (bad data is "held").
        raise SourceUnavailable(outcome.reason or f"{site_code}/{source_name}: source unavailable")
    # Building the batch's Data Docs is data work too; national-run counts it as such.
    return {**asdict(outcome), "docs_seconds": time.perf_counter() - docs_started}


def _outcome_from_state(state, site_code: str, source, started: float) -> dict:
    if state.is_completed():
        return state.result()
    try:
        state.result()
        reason = state.message or state.type.value
    except Exception as exc:  # noqa: BLE001  the task's final exception is the reason
        reason = f"{type(exc).__name__}: {exc}"
    return asdict(
        SourceOutcome(
            site_code, source.name, source.dataset, "failed", reason=reason[:1500], seconds=time.perf_counter() - started
        )
    )


@flow(name="ingest-site", flow_run_name="ingest-site-{site}")
def ingest_site(site: str, sites_dir: str | None = None, prepare: bool = True, docs_index: bool = True) -> list[dict]:
    """Ingest every enabled source of one site (by ODS code).

    `prepare=False` skips schema creation (national-run has already done it for every site);
    `docs_index=False` leaves the Data Docs index to the caller (an in-process national run
    renders it once for every site).
    """
    logger = get_run_logger()
    config = site_config(sites_dir, site)
    run_id = current_flow_run_id()
    if prepare:
        prepare_site_task(config.ods_code, sites_dir)
    outcomes = []
    for source in config.sources:
        if not source.enabled:
            continue
        started = time.perf_counter()
        with source_system_tag(source.connector):
            state = ingest_source_task(config.ods_code, source.name, sites_dir, run_id, return_state=True)
        outcome = _outcome_from_state(state, config.ods_code, source, started)
        progress.emit("source_finished", **outcome)
        outcomes.append(outcome)
        level = logger.info if outcome["status"] in ("loaded", "up_to_date") else logger.error
        level(
            "%s/%s: %s (%s in, %s loaded, %s quarantined)%s",
            config.ods_code,
            source.name,
            outcome["status"],
            outcome["rows_in"],
            outcome["rows_loaded"],
            outcome["rows_quarantined"],
            f": {outcome['reason']}" if outcome["reason"] else "",
        )
    if docs_index and any(o.get("batch_id") for o in outcomes):
        docs_index_task()
    outcomes = with_dq(warehouse(load_settings()), outcomes)
    publish_ingest_table(config.ods_code, outcomes)
    raise_alerts(alerts_for_outcomes(outcomes, run_id))
    return outcomes


@flow(name="ingest-sites")
def ingest_sites(sites: list[str], sites_dir: str | None = None, prepare: bool = True) -> dict[str, str]:
    """Several sites in one flow run, one after another, each as its own `ingest-site` subflow
    with its own logs, outcome table and alerts.

    For a deployed national run of many small sites (`sites_per_run` > 1): a worker starts a new
    process per flow run, about 7 s before a site's work begins (measured in
    docs/benchmarks.md), as long as a small site's whole load; a batch pays it once. A site that
    fails does not stop the ones after it. Returns each site's final state type.
    """
    out = {}
    with quiet_subflows():  # the batch's own heartbeat speaks for its subflows
        for code in sites:
            state = ingest_site(site=code, sites_dir=sites_dir, prepare=prepare, docs_index=False, return_state=True)
            out[code] = state.type.value
    if "COMPLETED" in out.values():
        docs_index_task()  # once for the batch: the index reads every validation it lists
    return out
