"""PostgreSQL bulk COPY (issue 18): binary COPY encoded from Arrow by pgpq leaves exactly the rows
the CSV text path leaves, nulls, quotes, commas, newlines and microseconds included, and a column
type it is not mapped for falls back to text instead of failing."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import sqlalchemy as sa

from pipeline.warehouse import core
from pipeline.warehouse.core import Warehouse

COLUMNS = "s text, v varchar, n bigint, x double precision, b boolean, d date, t timestamp"


def _batches():
    table = pa.table(
        {
            "s": ["plain", None, 'a "quoted", comma', "line\nbreak", ""],
            "v": ["RF4", "W01", None, "\\N", "é ü"],
            "n": [1, None, -(2**62), 0, 7],
            "x": [1.5, None, -0.0, 1e-300, 123456.789],
            "b": [True, False, None, True, False],
            "d": [dt.date(2018, 1, 1), None, dt.date(1999, 12, 31), dt.date(2030, 6, 30), dt.date(2018, 2, 28)],
            "t": [dt.datetime(2018, 1, 1, 6, 0, 0, 123456), None, dt.datetime(2018, 1, 31, 23, 59, 59),
                  dt.datetime(1970, 1, 1), dt.datetime(2018, 1, 15, 12, 30)],  # fmt: skip
        }
    )
    return table.to_batches(max_chunksize=2)


@pytest.mark.postgres
def test_binary_and_text_copy_leave_the_same_rows(pg_url, monkeypatch):
    wh = Warehouse(pg_url)
    cols = ["s", "v", "n", "x", "b", "d", "t"]
    try:
        with wh.begin() as conn:
            raw = conn.connection.driver_connection
            conn.execute(sa.text(f"create table public.bin ({COLUMNS})"))
            conn.execute(sa.text(f"create table public.txt ({COLUMNS})"))
            assert core._arrow_schema(raw, "public.bin", cols) is not None  # the binary path is taken
            assert wh._pg_copy_batches(conn, "public.bin", cols, _batches()) == 5
            monkeypatch.setenv("BENEFITS_PG_COPY", "csv")
            assert wh._pg_copy_batches(conn, "public.txt", cols, _batches()) == 5
        rows = lambda t: wh.query(f"select * from public.{t} order by n nulls first, s nulls first").astype(str)  # noqa: E731
        assert rows("bin").equals(rows("txt"))
        assert wh.scalar("select count(*) from public.bin where s is null and v is not null") == 1
        assert wh.scalar("select t from public.bin where n = 1") == dt.datetime(2018, 1, 1, 6, 0, 0, 123456)
    finally:
        wh.dispose()


@pytest.mark.postgres
def test_a_column_type_binary_is_not_mapped_for_falls_back_to_text(pg_url):
    wh = Warehouse(pg_url)
    try:
        with wh.begin() as conn:
            raw = conn.connection.driver_connection
            conn.execute(sa.text("create table public.small (s text, n integer)"))
            assert core._arrow_schema(raw, "public.small", ["s", "n"]) is None
            batch = pa.record_batch({"s": ["a", None], "n": [1, 2]})
            assert wh._pg_copy_batches(conn, "public.small", ["s", "n"], [batch]) == 2
        assert wh.scalar("select sum(n) from public.small") == 3
    finally:
        wh.dispose()
