"""`national-run`: every configured site end to end, then marts and benefits.

A site that fails or whose batch is held is listed in the result; the others go on.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.build_marts import build_marts
from flows.ingest_site import ingest_site
from flows.realise_benefits import realise_benefits
from pipeline import progress
from pipeline.runtime import get_sites, prepare_warehouse, simulate_missing, warehouse
from pipeline.settings import load_settings


@task(name="prepare-warehouse", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[5, 30])
def prepare_task(sites_dir: str | None) -> list[str]:
    settings = load_settings()
    sites = get_sites(sites_dir)
    prepare_warehouse(warehouse(settings), sites)
    return [s.ods_code for s in sites]


@task(name="simulate-extracts", cache_policy=NO_CACHE)
def simulate_task(sites_dir: str | None) -> list[str]:
    settings = load_settings()
    return simulate_missing(settings, get_sites(sites_dir))


@flow(name="national-run")
def national_run(sites_dir: str | None = None, sites: list[str] | None = None) -> dict:
    logger = get_run_logger()
    codes = prepare_task(sites_dir)
    if sites:
        wanted = {s.upper() for s in sites}
        codes = [c for c in codes if c in wanted]
    progress.emit("run_started", sites=codes)
    simulated = simulate_task(sites_dir)
    if simulated:
        logger.info("simulated extracts for %s", ", ".join(simulated))
    outcomes: list[dict] = []
    failed_sites: dict[str, str] = {}
    for code in codes:
        progress.emit("site_started", site=code)
        state = ingest_site(site=code, sites_dir=sites_dir, return_state=True)
        if state.is_completed():
            site_outcomes = state.result()
            outcomes.extend(site_outcomes)
            bad = [o for o in site_outcomes if o["status"] not in ("loaded", "up_to_date")]
            if bad:
                failed_sites[code] = "; ".join(f"{o['source_name']}: {o['status']}: {o['reason']}" for o in bad)
        else:
            failed_sites[code] = f"ingest-site ended {state.type.value}: {state.message}"
        progress.emit("site_finished", site=code, failed=code in failed_sites)
    progress.emit("stage", name="marts")
    models = build_marts(sites_dir=sites_dir)
    progress.emit("stage", name="benefits")
    benefits = realise_benefits(sites_dir=sites_dir)
    for code, why in failed_sites.items():
        logger.error("site %s did not complete: %s", code, why)
    return {
        "outcomes": outcomes,
        "failed_sites": failed_sites,
        "models": models,
        "benefits": benefits,
    }
