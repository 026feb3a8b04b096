"""A DuckDB warehouse file that another process holds: said at once in one line naming that
process, or waited for with a visible message when the user asked to wait (issue 15 #6).

DuckDB lets one process open a file for writing. The command's preflight checks the file before
it starts, but the pipeline opens it again later, inside a flow; a process that took the file in
between (`benefits sql --write`, a second `benefits run`) used to surface there as a lock error
that Prefect retried for a minute and then printed as three tracebacks. Every warehouse engine
now opens DuckDB through `install`, so wherever the open happens the answer is the same.
"""

from __future__ import annotations

import copy
import re
import threading
import time
from collections.abc import Callable

import duckdb
from sqlalchemy import event
from sqlalchemy.engine import Engine

POLL_S = 1.0
_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")

# The command line's choice (`--wait`): None stops at once; a callable is told, once per open,
# that the run is waiting, and the open is retried until the other process lets go.
_on_wait: Callable[[str], None] | None = None
_policy_lock = threading.Lock()


class WarehouseInUse(RuntimeError):
    """Another process holds the DuckDB warehouse file; the message names it and what to do."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.problem = problem  # without the path, for a caller that names the warehouse its own way


def one_line(text: object) -> str:
    lines = [" ".join(line.split()) for line in str(text).splitlines()]
    return "; ".join(line for line in lines if line)


def holder(error: BaseException | str) -> tuple[str, str] | None:
    """(program, PID) of the process holding the file, when DuckDB's error names it."""
    found = _HOLDER.search(one_line(error))
    return (found.group(1), found.group(2)) if found else None


def describe(error: BaseException | str) -> str:
    """DuckDB's error in one line; a lock held elsewhere is said plainly, with the holder's PID."""
    held = holder(error)
    if held:
        return (
            f"the file is in use by process {held[1]} ({held[0]}); "
            "wait for it to finish or stop it, then rerun (or rerun with --wait)"
        )
    return one_line(error).split(" See also ")[0]


def is_lock_conflict(error: BaseException) -> bool:
    return isinstance(error, duckdb.IOException) and "could not set lock" in str(error).lower()


def set_wait(on_wait: Callable[[str], None] | None) -> None:
    """Wait for a held warehouse (telling `on_wait` once per open) instead of failing; None: fail."""
    global _on_wait
    with _policy_lock:
        _on_wait = on_wait


def install(engine: Engine, path: str) -> None:
    """Open `engine`'s DuckDB file under the lock policy above."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, conn_rec, cargs, cparams):  # noqa: ARG001  SQLAlchemy's event signature
        told = False
        while True:
            try:
                # duckdb_engine pops options out of cparams, so each attempt gets its own copy
                return dialect.connect(*cargs, **copy.deepcopy(cparams))
            except duckdb.Error as e:
                if not is_lock_conflict(e):
                    raise
                on_wait = _on_wait
                if on_wait is None:
                    raise WarehouseInUse(path, describe(e)) from None
                if not told:
                    pid = (holder(e) or ("", "another process"))[1]
                    who = f"process {pid}" if pid.isdigit() else pid
                    on_wait(f"{path} is in use by {who}; waiting for it to finish (Ctrl-C to stop)")
                    told = True
            time.sleep(POLL_S)
