"""A national run's timings: where its wall time went, data work against orchestration.

Data work is time measured inside the tasks that do it (setup and the HTML report: the task's
wall time); the rest of the wall time is orchestration: flow and task runs, state changes, API
calls, artifacts, starting and waiting for site runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

DATA_WORK = ("setup_seconds", "ingest_data_seconds", "marts_seconds", "benefits_seconds", "html_report_seconds")


class RunTimings:
    """Seconds by step, in the order they are recorded; started with the run."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def measure(self, key: str) -> Iterator[None]:
        """The block's wall time as `key` (not kept when the block raises: the run has failed)."""
        t = time.perf_counter()
        yield
        self.seconds[key] = time.perf_counter() - t

    def record_ingest(self, outcomes: list[dict], docs_index_seconds: float | None = None) -> None:
        """The sites' own figures: loading, and Data Docs: each batch's page (in its ingest task),
        then, when this process built it, the index."""
        self.seconds["ingest_seconds"] = sum(float(o.get("seconds") or 0) for o in outcomes)
        self.seconds["docs_seconds"] = sum(float(o.get("docs_seconds") or 0) for o in outcomes)
        if docs_index_seconds is not None:
            self.seconds["docs_seconds"] += docs_index_seconds
        self.seconds["ingest_data_seconds"] = self.seconds["ingest_seconds"] + self.seconds["docs_seconds"]

    def finish(self) -> dict[str, float]:
        """Every figure, with the data work's total and the run's wall time last."""
        self.seconds["data_seconds"] = sum(self.seconds[k] for k in DATA_WORK)
        self.seconds["wall_seconds"] = time.perf_counter() - self._started
        return self.seconds
