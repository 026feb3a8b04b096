"""`realise-benefits`: every planned benefit evaluated against its measure, into fact_benefit."""

from __future__ import annotations

from prefect import flow, get_run_logger

from pipeline.realise import realise
from pipeline.runtime import get_sites, warehouse
from pipeline.settings import load_settings


@flow(name="realise-benefits")
def realise_benefits(sites_dir: str | None = None) -> dict:
    settings = load_settings()
    sites = get_sites(sites_dir)
    result = realise(warehouse(settings), sites)
    logger = get_run_logger()
    logger.info("evaluated %d benefits (%d rows)", result.benefits, result.rows)
    for problem in result.problems:
        logger.error(problem)
    return {"benefits": result.benefits, "rows": result.rows, "problems": result.problems, "by_site": result.by_site}
