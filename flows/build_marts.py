"""`build-marts`: staging views, measures, national and local marts, in one transaction.

Runs daily on its own (deployment `build-marts/marts-daily`) and inside every national run.
The build holds the staging lock: it waits for loads that are committing and keeps new ones
back until it is done, so every model sees the same batches.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger, task

from connectors.ods import refresh_for_run as refresh_ods
from flows.common import IO_TASK
from pipeline import progress
from pipeline.warehouse.locks import schema_lock, staging_snapshot_lock
from pipeline.marts.build import build_marts as build
from pipeline.marts.build import organisations
from pipeline.runtime import get_sites, prepare_warehouse, warehouse
from pipeline.config.settings import load_settings


@task(name="build-marts", **IO_TASK)
def build_marts_task(sites_dir: str | None = None, full_refresh: bool = False) -> tuple[list[str], float]:
    """The models built, and the seconds spent building them. `full_refresh`: the incremental models
    too in full (pipeline/warehouse/incremental.py), not only the site-months loads changed."""
    t = time.perf_counter()
    settings = load_settings()
    sites = get_sites(sites_dir)
    wh = warehouse(settings)
    with schema_lock(wh):
        prepare_warehouse(wh, sites)
    # dim_site's names and regions from ODS, where BENEFITS_ODS_URL says where ODS is; a no-op
    # otherwise, and an unreachable ODS leaves the cached rows (never fails the build).
    refresh_ods(wh, organisations(wh, sites))
    with staging_snapshot_lock(wh):
        built = build(
            wh,
            sites,
            suppression_threshold=settings.suppression_threshold,
            full_refresh=full_refresh,
            on_model=lambda m: progress.emit("model_built", model=m.fqn),
        )
    return built, time.perf_counter() - t


@flow(name="build-marts")
def build_marts(sites_dir: str | None = None, full_refresh: bool = False) -> list[str]:
    built, seconds = build_marts_task(sites_dir, full_refresh)
    get_run_logger().info("built %d models in %.1f s", len(built), seconds)
    return built
