"""A DuckDB warehouse that another process takes after the command's own check (between the
preflight and a flow's first open, or between stages) is named in one line with that process's
PID, or waited for under --wait, wherever the pipeline opens it (issue 15 #6). That `benefits run`
holds the file from its start, so that no process can slip in, is asserted by the CLI run of
test_config_change.py (one run serves both: each costs ~15 s)."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from pipeline.warehouse.core import Warehouse
from pipeline.warehouse.duckdb_lock import WarehouseInUse, set_wait


def _holder(db, seconds: float) -> subprocess.Popen:
    """Another process with the file open (as `benefits sql --write` would have it)."""
    code = f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ready', flush=True); time.sleep({seconds})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    return path


def test_a_warehouse_taken_after_the_check_is_named_in_one_line(db):
    holder = _holder(db, 60)
    wh = Warehouse(f"duckdb:///{db}")
    try:
        with pytest.raises(WarehouseInUse) as caught:
            wh.scalar("select 1")  # before: an OperationalError that flows retried for a minute
    finally:
        holder.kill()
        holder.wait()
        wh.dispose()
    message = str(caught.value)
    assert "\n" not in message
    assert str(db) in message and f"in use by process {holder.pid}" in message and "--wait" in message


def test_with_wait_a_taken_warehouse_is_waited_for_and_said_once(db):
    holder = _holder(db, 1)
    told: list[str] = []
    set_wait(told.append)
    wh = Warehouse(f"duckdb:///{db}")
    try:
        assert wh.scalar("select 42") == 42
    finally:
        set_wait(None)
        holder.kill()
        holder.wait()
        wh.dispose()
    assert told == [f"{db} is in use by process {holder.pid}; waiting for it to finish (Ctrl-C to stop)"]
