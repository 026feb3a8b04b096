"""Create the warehouse's schemas and its loaded tables.

`meta` DDL is SQL in sql/ddl/; staging and quarantine tables are generated from the dataset
contracts so a contract change cannot drift from the tables that hold it.
"""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa

from dataset_contracts.contracts import CONTRACTS, TYPES, Contract
from dataset_contracts.lineage import LINEAGE, QUARANTINE_EXTRA
from pipeline.warehouse.core import Warehouse, ident

BASE_SCHEMAS = ("meta", "landing", "quarantine", "staging", "measures", "national")

# Columns added to meta tables after warehouses were made without them: (schema, table, column,
# type). ensure_schema adds any that is missing, so an existing warehouse upgrades on its next
# run. Checked first, not `add column if not exists`: PostgreSQL takes an exclusive table lock for
# the statement even when the column is there, and concurrent loads would queue behind it.
ADDED_COLUMNS = (("meta", "load_batch", "config_hash", "varchar"),)

def sql_text(*parts: str) -> str:
    return resources.files("sql").joinpath(*parts).read_text(encoding="utf-8")


def split_statements(sql: str) -> list[str]:
    lines = [ln for ln in sql.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _type(logical: str, wh: Warehouse) -> str:
    duck, pg, _ = TYPES[logical]
    return duck if wh.is_duckdb else pg


def loaded_table_ddl(wh: Warehouse, schema: str, contract: Contract, quarantine: bool) -> str:
    cols = [f"{c.name} {c.sql_type(wh.dialect)}" for c in contract.columns]
    cols += [f"{n} {_type(t, wh)}" for n, t in LINEAGE]
    if quarantine:
        cols += [f"{n} {_type(t, wh)}" for n, t in QUARANTINE_EXTRA]
    return f"create table if not exists {ident(schema)}.{contract.name} (\n  " + ",\n  ".join(cols) + "\n)"


def ensure_schema(wh: Warehouse, extra_schemas: list[str] | tuple[str, ...] = ()) -> None:
    with wh.begin() as conn:
        for schema in (*BASE_SCHEMAS, *extra_schemas):
            conn.execute(sa.text(f"create schema if not exists {ident(schema)}"))
        for stmt in split_statements(sql_text("ddl", "meta.sql")):
            conn.execute(sa.text(stmt))
        add_missing_columns(conn)
        for contract in CONTRACTS.values():
            conn.execute(sa.text(loaded_table_ddl(wh, "staging", contract, quarantine=False)))
            conn.execute(sa.text(loaded_table_ddl(wh, "quarantine", contract, quarantine=True)))
            if not wh.is_duckdb:
                for schema in ("staging", "quarantine"):
                    for stmt in loaded_table_indexes(schema, contract):
                        conn.execute(sa.text(stmt))


def loaded_table_indexes(schema: str, contract: Contract) -> list[str]:
    """PostgreSQL indexes for what every load deletes by: a batch's months for its site and
    source, its own batch id, and (incremental loads) its rows' keys. Without them each load
    scans the whole table, and a national run over hundreds of sites grows quadratically.
    DuckDB needs none: its deletes scan column segments that zone maps skip."""
    table = f"{ident(schema)}.{contract.name}"
    keys = ", ".join(k.strip() for k in contract.key.split(","))
    return [
        f"create index if not exists {contract.name}_site_period on {table} (_site, _source_name, _period)",
        f"create index if not exists {contract.name}_batch on {table} (_batch_id)",
        f"create index if not exists {contract.name}_key on {table} ({keys})",
    ]


def add_missing_columns(conn) -> None:
    for schema, table, column, type_ in ADDED_COLUMNS:
        present = conn.execute(
            sa.text(
                "select count(*) from information_schema.columns "
                "where table_schema = :s and table_name = :t and column_name = :c"
            ),
            {"s": schema, "t": table, "c": column},
        ).scalar()
        if not present:
            conn.execute(sa.text(f"alter table {ident(schema)}.{ident(table)} add column {ident(column)} {type_}"))
