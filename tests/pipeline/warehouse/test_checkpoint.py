"""A closed DuckDB warehouse is one file: a copy of it alone (a backup) holds every committed row."""

from __future__ import annotations

import shutil

import duckdb
import sqlalchemy as sa

from pipeline.warehouse.core import Warehouse


def test_closing_the_warehouse_folds_the_log_into_the_file(tmp_path):
    path = tmp_path / "benefits.duckdb"
    wh = Warehouse(f"duckdb:///{path}")
    with wh.begin() as conn:
        conn.execute(sa.text("create table t as select range as i from range(1000)"))
    with wh.begin() as conn:
        conn.execute(sa.text("insert into t select range from range(1000, 1500)"))
    wal = path.with_name(path.name + ".wal")
    assert wal.exists()  # DuckDB logs the last transactions until it checkpoints
    # another engine of the process on the same file (GX's validator has one) is still open, so
    # DuckDB's own checkpoint when its last connection closes does not happen
    other = sa.create_engine(f"duckdb:///{path}", **wh.engine_kwargs)
    with other.connect():
        wh.dispose()
        assert not wal.exists()
    other.dispose()
    backup = tmp_path / "backup.duckdb"
    shutil.copy(path, backup)  # the file only, as a backup tool copies it
    with duckdb.connect(str(backup), read_only=True) as con:
        assert con.execute("select count(*), max(i) from t").fetchone() == (1500, 1499)
