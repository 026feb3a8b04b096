"""`collect-packages`: the national collector on a schedule (deployment `collect-packages/collect-daily`).

Checks and merges every complete package trusts have submitted, rebuilds the completeness
board and the national marts, and leaves the packages' statuses as a table artifact. Where
trusts submit and the key registry come from the worker's environment (BENEFITS_EXCHANGE_URL,
BENEFITS_KEY_REGISTRY) unless given: a bucket URL must not be stored on the Prefect server.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from flows.common import IO_TASK, artifact_key
from pipeline.config.settings import SettingsError, load_settings
from pipeline.federation.collect import build_national_marts, collect
from pipeline.federation.keys import load_registry
from pipeline.runtime import warehouse

COLUMNS = ("package", "site_code", "status", "reasons")


def _setting(value: str | None, variable: str) -> str:
    value = value or os.environ.get(variable)
    if not value:
        raise SettingsError(f"{variable} is not set: where trusts submit packages and the key registry must be given")
    return value


@task(name="collect-packages", **IO_TASK)
def collect_task(source: str, keys: str, deadline_day: int) -> tuple[dict, float]:
    """The packages' outcomes and the board's size, and the seconds it took. A retry after an I/O
    error is safe: packages already collected have left the inbox."""
    t = time.perf_counter()
    settings = load_settings()
    wh = warehouse(settings)
    result = collect(source, wh, load_registry(Path(keys)), threshold=settings.suppression_threshold,
                     deadline_day=deadline_day)  # fmt: skip
    built = build_national_marts(wh, settings.suppression_threshold)
    summary = {
        "packages": [{"package": p.package, "site_code": p.site_code, "status": p.status, "reasons": p.reasons,
                      "replaces": p.replaces} for p in result.packages],
        "board_rows": result.board_rows,
        "national_marts": len(built),  # tables rebuilt (none before the first accepted package)
    }  # fmt: skip
    return summary, time.perf_counter() - t


@flow(name="collect-packages")
def collect_packages(source: str | None = None, keys: str | None = None, deadline_day: int = 15) -> dict:
    summary, seconds = collect_task(_setting(source, "BENEFITS_EXCHANGE_URL"), _setting(keys, "BENEFITS_KEY_REGISTRY"),
                                    deadline_day)  # fmt: skip
    rows = [{"package": p["package"], "site_code": p["site_code"], "status": p["status"],
             "reasons": "; ".join(p["reasons"])} for p in summary["packages"]]  # fmt: skip
    create_table_artifact(
        table=rows or [{c: None for c in COLUMNS}],
        key=artifact_key("collect-packages"),
        description="collect-packages: each package taken from the inbox, accepted or rejected, with its reasons",
    )
    logger = get_run_logger()
    statuses = [p["status"] for p in summary["packages"]]
    logger.info("collected %d packages (%d accepted, %d rejected) in %.1f s; completeness board: %d rows",
                len(statuses), statuses.count("accepted"), statuses.count("rejected"), seconds, summary["board_rows"])
    for p in summary["packages"]:
        for reason in p["reasons"]:
            (logger.error if p["status"] == "failed" else logger.warning)("%s: %s", p["package"], reason)
    return summary
