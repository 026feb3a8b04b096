"""`build-marts`: staging views, measures, national and local marts, in one transaction."""

from __future__ import annotations

from prefect import flow, get_run_logger

from pipeline import progress
from pipeline.marts import build_marts as build
from pipeline.runtime import get_sites, prepare_warehouse, warehouse
from pipeline.settings import load_settings


@flow(name="build-marts")
def build_marts(sites_dir: str | None = None) -> list[str]:
    settings = load_settings()
    sites = get_sites(sites_dir)
    wh = warehouse(settings)
    prepare_warehouse(wh, sites)
    built = build(
        wh,
        sites,
        suppression_threshold=settings.suppression_threshold,
        on_model=lambda m: progress.emit("model_built", model=m.fqn),
    )
    get_run_logger().info("built %d models", len(built))
    return built
