"""`ingest-site`: every source of one site, extracted, validated and loaded as its own batch."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows._common import current_flow_run_id
from pipeline import progress
from pipeline.ingest import SourceOutcome, ingest_source
from pipeline.runtime import get_sites, validator, warehouse
from pipeline.settings import load_settings


@task(name="ingest-source", task_run_name="ingest-{site_code}-{source_name}", cache_policy=NO_CACHE)
def ingest_source_task(site_code: str, source_name: str, sites_dir: str | None, flow_run_id: str | None) -> dict:
    settings = load_settings()
    site = get_sites(sites_dir, [site_code])[0]
    source = next(s for s in site.sources if s.name == source_name)
    wh = warehouse(settings)
    progress.emit("source_started", site=site_code, source=source_name, dataset=source.dataset)
    try:
        outcome = ingest_source(wh, site, source, settings=settings, validator=validator(wh), flow_run_id=flow_run_id)
    except Exception as exc:  # a bug or an outage in one source must not stop the others
        outcome = SourceOutcome(site_code, source_name, source.dataset, "failed", reason=f"{type(exc).__name__}: {exc}")
        get_run_logger().exception("%s/%s failed", site_code, source_name)
    progress.emit("source_finished", **asdict(outcome))
    return asdict(outcome)


@flow(name="ingest-site", flow_run_name="ingest-site-{site}")
def ingest_site(site: str, sites_dir: str | None = None) -> list[dict]:
    """Ingest every enabled source of one site (by ODS code)."""
    logger = get_run_logger()
    config = get_sites(sites_dir, [site])[0]
    run_id = current_flow_run_id()
    outcomes = []
    for source in config.sources:
        if not source.enabled:
            continue
        outcome = ingest_source_task(config.ods_code, source.name, sites_dir, run_id)
        outcomes.append(outcome)
        level = logger.info if outcome["status"] in ("loaded", "up_to_date") else logger.error
        level(
            "%s/%s: %s (%s in, %s loaded, %s quarantined)%s",
            site,
            source.name,
            outcome["status"],
            outcome["rows_in"],
            outcome["rows_loaded"],
            outcome["rows_quarantined"],
            f": {outcome['reason']}" if outcome["reason"] else "",
        )
    return outcomes
