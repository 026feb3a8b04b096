"""Fault injection for crash-safety tests and drills: the process SIGKILLs itself at a chosen moment.

    BENEFITS_FAULT=kill_during_load:<table>        right after rows are inserted into <table> inside a
                                                   load transaction, before it commits
    BENEFITS_FAULT=kill_at_sql:<text>              right after the first warehouse statement that
                                                   contains <text> (e.g. `measures.fact_benefit_all`)
    BENEFITS_FAULT=kill_on_event:<event>[=<value>] when the pipeline reports that progress event
                                                   (`source_finished`, `model_built`, `stage=report`)

The crash tests use them to prove that a rerun after a kill at any stage leaves the same warehouse
as an uninterrupted run. Unset, nothing is installed.
"""

from __future__ import annotations

import logging
import os
import signal

from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def _die(why: str) -> None:
    log.warning("BENEFITS_FAULT: killing the process %s", why)
    os.kill(os.getpid(), signal.SIGKILL)


def install(engine: Engine) -> None:
    kind, _, arg = os.environ.get("BENEFITS_FAULT", "").partition(":")
    arg = arg.strip().lower()
    if kind == "kill_during_load":
        matches = lambda statement: statement.lstrip().lower().startswith("insert into " + arg)  # noqa: E731
    elif kind == "kill_at_sql":
        matches = lambda statement: arg in statement.lower()  # noqa: E731
    else:
        return

    @event.listens_for(engine, "after_cursor_execute")
    def _kill(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        if matches(statement):
            _die(f"after a statement with {arg!r}, before its transaction commits")


def on_event(event_name: str, data: dict) -> None:
    """Called by pipeline.progress.emit for every progress event (a cheap check when unset)."""
    spec = os.environ.get("BENEFITS_FAULT", "")
    if not spec.startswith("kill_on_event:"):
        return
    name, _, value = spec.split(":", 1)[1].strip().lower().partition("=")
    if event_name == name and (not value or value in {str(v).lower() for v in data.values()}):
        _die(f"on progress event {event_name!r}")
