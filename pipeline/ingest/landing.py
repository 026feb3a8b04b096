"""A batch's landing: its harmonised rows where SQL can see them, each numbered, and its repeated keys.

GX validates the landing table and the load splits it into staging and quarantine
(pipeline/ingest/load.py); both go when the batch is done (`drop_landing`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from dataset_contracts.contracts import Contract
from expectations.rules import Rule, key_column
from pipeline.warehouse.core import Warehouse, ident, sql_literal

if TYPE_CHECKING:
    import duckdb


def landing_table(batch_id: str) -> str:
    return ident(f"landing.b_{batch_id}")


def keys_table(batch_id: str) -> str:
    """The batch's repeated key values (`create_keys_table`), beside its landing table."""
    return ident(f"landing.b_{batch_id}_keys")


ROW = "_row"  # a landing row's number: the load splits rows by it, not by re-testing every rule


def create_landing(wh: Warehouse, batch_id: str, parquet_path, contract: Contract) -> str:
    """Put the harmonised batch where GX and the load can query it with SQL, each row numbered."""
    name = landing_table(batch_id)
    drop_landing(wh, batch_id)
    if wh.is_duckdb:
        # A view over the Parquet file: DuckDB scans it in parallel, and nothing is written twice.
        path = sql_literal(str(parquet_path.resolve()))
        numbered = f"select * exclude (file_row_number), file_row_number as {ROW}"
        wh.execute(f"create view {name} as {numbered} from read_parquet({path}, file_row_number = true)")
        return name
    cols = [f"{c.name} {c.sql_type('postgresql')}" for c in contract.columns]
    cols += ["_source_file text", "_period date", "_conform_errors text", f"{ROW} bigint generated always as identity"]
    with wh.begin() as conn:
        conn.execute(sa.text(f"create unlogged table {name} ({', '.join(cols)})"))
        wh.copy_parquet_into(conn, name, parquet_path, contract.column_names + ["_source_file", "_period", "_conform_errors"])
    return name


def drop_landing(wh: Warehouse, batch_id: str) -> None:
    name = landing_table(batch_id)
    schema, table = name.split(".")
    with wh.begin() as conn:
        kind = conn.execute(
            sa.text("select table_type from information_schema.tables where table_schema = :s and table_name = :t"),
            {"s": schema, "t": table},
        ).scalar()
        if kind:
            conn.execute(sa.text(f"drop {'view' if kind == 'VIEW' else 'table'} if exists {name}"))
        conn.execute(sa.text(f"drop table if exists {keys_table(batch_id)}"))


KEYS_MEMORY = "256MB"


def repeated_keys(rule: Rule, rows: str) -> str:
    """A query of the key values of `rule` (a uniqueness rule) that occur more than once in
    `rows`, one row per key, in columns named by `key_column`; rows missing part of the key left out."""
    cols = ", ".join(rule.unique_columns)
    keys = ", ".join(f"{c} as {key_column(j)}" for j, c in enumerate(rule.unique_columns))
    present = " and ".join(f"{c} is not null" for c in rule.unique_columns)
    return f"select {keys} from {rows} where {present} group by {cols} having count(*) > 1"


def create_keys_table(
    wh: Warehouse, batch_id: str, parquet_path, contract: Contract, rules: list[Rule], processing: duckdb.DuckDBPyConnection
) -> None:
    """The batch's key values that occur more than once, as a small table beside its landing
    table: GX counts the key rule's rows against it and the load quarantines by it, so the keys
    are grouped once per batch. DuckDB groups them either way: in the warehouse, over the landing
    view; for PostgreSQL, in `processing` (the in-process DuckDB) over the harmonised Parquet,
    whose rows are the landing table's, in about a second where the server took 7-14 s on 10M rows."""
    rule = next((r for r in rules if r.keys_table), None)
    if rule is None:
        return
    if wh.is_duckdb:
        wh.execute(f"create table {rule.keys_table} as {repeated_keys(rule, landing_table(batch_id))}")
        return
    path = sql_literal(str(parquet_path.resolve()))
    # DuckDB partitions and spills the grouping within any limit: on 10M keys, 1.2-1.4 s under
    # 128MB to 1GB alike, but a peak RSS of 960 MiB with 1GB against 386 MiB with 256MB.
    processing.execute(f"set memory_limit = '{KEYS_MEMORY}'")
    repeated = processing.sql(repeated_keys(rule, f"read_parquet({path})")).to_arrow_table()
    types = {c.name: c.sql_type("postgresql") for c in contract.columns}
    ddl = ", ".join(f"{key_column(j)} {types[c]}" for j, c in enumerate(rule.unique_columns))
    with wh.begin() as conn:
        conn.execute(sa.text(f"create unlogged table {rule.keys_table} ({ddl})"))
        wh.insert_arrow(conn, rule.keys_table, [key_column(j) for j in range(len(rule.unique_columns))], repeated)
