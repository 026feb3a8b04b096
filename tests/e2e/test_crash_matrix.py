"""SIGKILL `benefits run` at every stage, on DuckDB and on PostgreSQL, and rerun: the warehouse ends
the same as after one uninterrupted run (every mart, staging and quarantine table, the batch log).

The kills are chained to keep this affordable: each killed run picks up where the last one died
and dies at the next stage, so one warehouse meets every kill point; each run must really have been
killed (exit by SIGKILL), or the stage it aimed at was never reached and the test says so."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.runs import run_cli
from tests.support.warehouse import RUN_TIME_COLUMNS, mart_checksums, schema_tables, table_checksum

pytestmark = pytest.mark.slow

# In the order a run meets them (pipeline/warehouse/faults.py): every stage that writes to the
# warehouse. A kill between two committed batches, at a load's last statement or before the HTML
# report gave nothing these do not, and every run here costs the command's start-up again.
KILL_POINTS = [
    "kill_during_load:quarantine.medication_administrations",  # inside a load transaction
    "kill_on_event:model_built",  # inside the marts build
    "kill_at_sql:measures.fact_benefit_all",  # writing the benefit figures
]
NOISE = ("| INFO", " INFO ", "Traceback", "Failed to initialize", "Exception ignored")


def warehouse_state(url: str) -> dict[str, str]:
    engine = sa.create_engine(url)
    try:
        sums = mart_checksums(engine, exclude=RUN_TIME_COLUMNS)
        for t in schema_tables(engine, ["staging", "quarantine"]):
            if not t.split(".")[1].startswith("stg_"):
                sums[t] = table_checksum(engine, t)
        sums["meta.load_batch"] = table_checksum(engine, "meta.load_batch", exclude=RUN_TIME_COLUMNS)
        return sums
    finally:
        engine.dispose()


def crash_chain(sites: Path, home: Path, prefect_home: Path, url: str | None) -> None:
    for fault in KILL_POINTS:
        killed = run_cli(sites, home, prefect_home, url, BENEFITS_FAULT=fault)
        assert killed.returncode == -signal.SIGKILL, (fault, killed.returncode, killed.stderr[-3000:])
    rerun = run_cli(sites, home, prefect_home, url)
    assert rerun.returncode == 0, rerun.stderr[-3000:]


def test_duckdb_killed_at_every_stage_then_rerun_equals_an_uninterrupted_run(tmp_path, one_trust, prefect_home):
    reference = run_cli(one_trust, tmp_path / "reference", prefect_home)
    assert reference.returncode == 0, reference.stderr[-3000:]
    # The terminal shows progress and the summary, not library chatter or shutdown tracebacks.
    assert [line for line in (reference.stdout + reference.stderr).splitlines() if any(w in line for w in NOISE)] == []
    crash_chain(one_trust, tmp_path / "crashed", prefect_home, None)
    assert warehouse_state(f"duckdb:///{tmp_path / 'crashed' / 'benefits.duckdb'}") == warehouse_state(
        f"duckdb:///{tmp_path / 'reference' / 'benefits.duckdb'}"
    )
