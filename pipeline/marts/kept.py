"""Tables kept across runs (published figures, triage decisions, observations): created from their
MartTable spec, given the columns a newer version adds, never dropped, and shown to each site as
a view of its own rows."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import sqlalchemy as sa

from benefits.tables import MartTable
from pipeline.warehouse.core import Warehouse, ident


def ensure_kept(conn, wh: Warehouse, table: str, spec: MartTable) -> None:
    """Create the table, or add the columns a newer version has (null in rows written before them:
    a kept row's values are not rewritten by an upgrade)."""
    conn.execute(sa.text(f"create table if not exists {table} ({wh.columns_ddl(spec.types)})"))
    schema, name = table.split(".")
    have = {
        r[0]
        for r in conn.execute(
            sa.text("select column_name from information_schema.columns where table_schema = :s and table_name = :t"),
            {"s": schema, "t": name},
        )
    }
    for c, t in spec.types.items():
        if c not in have:
            conn.execute(sa.text(f"alter table {table} add column {ident(c)} {wh.column_type(t)}"))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def db_value(v):
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def insert_rows(conn, table: str, rows: list[dict], columns) -> None:
    if not rows:
        return
    cols = list(columns)
    sql = f"insert into {table} ({', '.join(ident(c) for c in cols)}) values ({', '.join(':' + c for c in cols)})"
    conn.execute(sa.text(sql), [{c: db_value(r.get(c)) for c in cols} for r in rows])
