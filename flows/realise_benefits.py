"""`realise-benefits`: every planned benefit evaluated against its measure, into fact_benefit.

Runs monthly on its own (deployment `realise-benefits/benefits-monthly`) and inside every
national run.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger, task

from flows.common import IO_TASK
from pipeline.marts.realise import realise
from pipeline.runtime import get_sites, warehouse
from pipeline.config.settings import load_settings


@task(name="realise-benefits", **IO_TASK)
def realise_task(sites_dir: str | None = None) -> tuple[dict, float]:
    """The benefits summary (benefits, rows, problems, by_site), and the seconds it took."""
    t = time.perf_counter()
    result = realise(warehouse(load_settings()), get_sites(sites_dir))
    summary = {"benefits": result.benefits, "rows": result.rows, "problems": result.problems, "by_site": result.by_site,
               "new_signals": result.new_signals}  # fmt: skip
    return summary, time.perf_counter() - t


@flow(name="realise-benefits")
def realise_benefits(sites_dir: str | None = None) -> dict:
    from flows.publish import publish_benefits

    summary, seconds = realise_task(sites_dir)
    publish_benefits(warehouse(load_settings()), get_sites(sites_dir))
    logger = get_run_logger()
    logger.info("evaluated %d benefits (%d rows) in %.1f s", summary["benefits"], summary["rows"], seconds)
    for problem in summary["problems"]:
        logger.error(problem)
    return summary
