"""PostgreSQL: when a batch is most of its staging table, the table's indexes are rebuilt once
after the rows are in instead of being kept up to date row by row.

Upkeep costs every inserted row a descent into three B-trees (the key index, in random order, the
most); a rebuild reads the whole table and sorts it once per index. So which is cheaper depends on
the batch's share of the rows the rebuild has to read. bench/bench_pg_staging_rebuild.py measures
both (docs/benchmarks.md, `pg_staging_rebuild`): on 5M-row batches the rebuild took 0.53x-0.71x of
upkeep at shares 1 and 0.5; on 1M-row batches it lost below one half (1.14x at 0.33, 1.40x at 0.2).

The indexes are dropped and created inside the load's own transaction (DDL is transactional in
PostgreSQL): no other session ever sees the table without its indexes or without its rows, and a
failed load rolls back to the old indexes. The price is an ACCESS EXCLUSIVE lock on the staging
table until the commit, so other loads of the same dataset and any reader of staging wait for this
batch. The lock is taken first in the transaction, before the load's deletes, so the load never
upgrades a lock it already holds (two rebuilding loads then queue instead of deadlocking). The
load's advisory locks already keep marts builds out for the whole load, and the rebuild path is
only taken when this batch is most of the table (a site's first load or full reload while staging
holds little else), never for one site's monthly batch in a national warehouse.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dataset_contracts.contracts import Contract
from pipeline.warehouse.ddl import loaded_table_indexes

SCHEMA = "staging"
REBUILD_SHARE = 0.5
# A rebuild sorts each index in memory when it fits; PostgreSQL's 64MB default spills 10M keys to
# disk. Only this transaction's CREATE INDEX statements get it, one at a time (not measured apart
# from the rebuild as a whole: the server's peak private memory in a 10M-row run was 395 MiB).
REBUILD_MAINTENANCE_WORK_MEM = "256MB"


def _index_names(contract: Contract) -> list[str]:
    return [stmt.split("exists ")[1].split(" on ")[0] for stmt in loaded_table_indexes(SCHEMA, contract)]


def table_rows(conn: Connection, contract: Contract) -> int | None:
    """The planner's row count of the staging table (updated by autovacuum, ANALYZE and CREATE
    INDEX); None when it has never been counted but holds pages. Reading it takes no lock."""
    reltuples, relpages = conn.execute(
        sa.text("select reltuples, relpages from pg_class where oid = cast(:t as regclass)"),
        {"t": f"{SCHEMA}.{contract.name}"},
    ).one()
    if reltuples >= 0:
        return int(reltuples)
    return 0 if relpages == 0 else None


def batch_share(rows_in: int, rows_before: int) -> float:
    """The batch's share of the rows a rebuild would read. Rows this load deletes still count: the
    index build sees them until the transaction commits."""
    return rows_in / (rows_before + rows_in) if rows_in else 0.0


def lock_for_rebuild(conn: Connection, contract: Contract, rows_in: int) -> bool:
    """Whether this batch rebuilds staging's indexes; if it does, the table is locked now.

    A table whose size is unknown keeps its indexes up to date: always correct, only slower."""
    if conn.dialect.name != "postgresql" or not rows_in:
        return False
    before = table_rows(conn, contract)
    if before is None or batch_share(rows_in, before) < REBUILD_SHARE:
        return False
    conn.execute(sa.text(f"lock table {SCHEMA}.{contract.name} in access exclusive mode"))
    return True


def drop_indexes(conn: Connection, contract: Contract) -> None:
    names = ", ".join(f"{SCHEMA}.{n}" for n in _index_names(contract))
    conn.execute(sa.text(f"drop index if exists {names}"))


def create_indexes(conn: Connection, contract: Contract) -> None:
    conn.execute(sa.text(f"set local maintenance_work_mem = '{REBUILD_MAINTENANCE_WORK_MEM}'"))
    for stmt in loaded_table_indexes(SCHEMA, contract):
        conn.execute(sa.text(stmt))
