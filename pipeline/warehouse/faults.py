"""Fault injection for crash-safety tests and drills.

`BENEFITS_FAULT=kill_during_load:staging.medication_administrations` makes the process
SIGKILL itself right after it has inserted rows into that table inside a load transaction
and before the transaction commits: the worst moment to die. The crash test uses it to prove
that a rerun leaves the same warehouse as an uninterrupted run. Unset, nothing is installed.
"""

from __future__ import annotations

import logging
import os
import signal

from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def install(engine: Engine) -> None:
    spec = os.environ.get("BENEFITS_FAULT", "")
    if not spec.startswith("kill_during_load:"):
        return
    target = "insert into " + spec.split(":", 1)[1].strip().lower()

    @event.listens_for(engine, "after_cursor_execute")
    def _kill(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        if statement.lstrip().lower().startswith(target):
            log.warning("BENEFITS_FAULT: killing the process inside the load transaction")
            os.kill(os.getpid(), signal.SIGKILL)
