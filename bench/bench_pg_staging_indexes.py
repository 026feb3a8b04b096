"""Benchmark: what staging's indexes cost the PostgreSQL load's biggest statement (issue 18).

bench_run.py --warehouse postgresql found `insert into staging...` the largest stage of a 10M-row
run. staging carries three indexes (pipeline.warehouse.ddl.loaded_table_indexes: what reruns
delete by). This script lands bench_pg_landing.py's harmonised Parquet once in a fresh database,
then times the same insert of every landing row into staging (in its own transaction, the table
emptied before each) with all three indexes, with none, and with each alone. Writes the
`pg_staging_indexes` section.

usage: python bench/bench_pg_staging_indexes.py [--rows 10000000] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_section  # noqa: E402
from bench_run import OUT, pg_database  # noqa: E402


def main() -> None:
    import sqlalchemy as sa

    from dataset_contracts.contracts import get_contract
    from pipeline.ingest.landing import create_landing, landing_table
    from pipeline.warehouse.core import Warehouse
    from pipeline.warehouse.ddl import ensure_schema, loaded_table_indexes

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    parquet = OUT / f"harmonised_{args.rows}.parquet"
    if not parquet.exists():
        raise SystemExit(f"{parquet} is missing: run bench/bench_pg_landing.py --rows {args.rows} first")
    contract = get_contract("medication_administrations")
    table = f"staging.{contract.name}"
    stmts = {s.split("exists ")[1].split(" on ")[0]: s for s in loaded_table_indexes("staging", contract)}
    cols = contract.column_names + ["_source_file", "_period"]
    insert = (f"insert into {table} ({', '.join(cols)}, _batch_id, _site, _source_name) "
              f"select {', '.join(cols)}, 'bench', 'RF4', 'epma' from {landing_table('bench')}")  # fmt: skip
    load_before = os.getloadavg()[0]
    url, _, drop = pg_database("staging_idx")
    wh = Warehouse(url)
    results: list[tuple[str, float]] = []
    try:
        ensure_schema(wh)
        create_landing(wh, "bench", parquet, contract)

        def timed(label: str) -> None:
            wh.execute(f"truncate {table}")
            t = time.perf_counter()
            wh.execute(insert)
            results.append((label, time.perf_counter() - t))
            print(f"{label}: {results[-1][1]:.1f} s", flush=True)

        timed("all three indexes (as loads run today)")
        for name in stmts:
            wh.execute(f"drop index staging.{name}")
        timed("no index")
        for name, stmt in stmts.items():
            wh.execute(stmt)
            timed(f"only `{name}`")
            wh.execute(f"drop index staging.{name}")
        for stmt in stmts.values():
            wh.execute(stmt)
        timed("all three indexes again")
    finally:
        wh.dispose()
        drop()
    load_after = os.getloadavg()[0]
    bare = dict(results)["no index"]
    table_md = "\n".join(f"| {label} | {s:.1f} | {s / bare:.2f}x |" for label, s in results)
    md = f"""
### PostgreSQL staging insert: what its three indexes cost (issue 18)

`python bench/bench_pg_staging_indexes.py --rows {args.rows}`: the load's staging insert of every row of the
landed 10M-row batch (`insert into staging... select ... from landing`), in one transaction, into an
emptied staging table, in one process and one fresh database, one after the other.

| staging indexes | seconds | vs no index |
|---|---:|---:|
{table_md}

Machine shared with other work (1-minute load average {load_before:.1f} before, {load_after:.1f} after, on
{os.cpu_count()} cores): single timings, read the spread between the two "all three" rows as the noise.
"""
    if not args.no_write:
        write_section("pg_staging_indexes", md)
    print(md)


if __name__ == "__main__":
    main()
