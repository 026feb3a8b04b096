"""Statement timings for benchmarks: where a run's warehouse time goes, statement by statement.

    BENEFITS_SQL_PROFILE=<file.jsonl>   append one line per warehouse statement (and per bulk COPY):
                                        {"sql": the statement's first 160 characters, "s": seconds}

bench/bench_run.py sets it to break the load stage down. Unset, nothing is installed and
`record` is a no-op, so the pipeline pays nothing for it.
"""

from __future__ import annotations

import json
import os
import re
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

ENV = "BENEFITS_SQL_PROFILE"


def _path() -> str | None:
    return os.environ.get(ENV) or None


def record(sql: str, seconds: float, **extra) -> None:
    path = _path()
    if not path:
        return
    line = {"sql": re.sub(r"\s+", " ", sql).strip()[:160], "s": round(seconds, 4), **extra}
    with open(path, "a") as f:
        f.write(json.dumps(line) + "\n")


def install(engine: Engine) -> None:
    if not _path():
        return

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        conn.info.setdefault("_profile_t0", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _stop(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        stack = conn.info.get("_profile_t0")
        if stack:
            record(statement, time.perf_counter() - stack.pop())
