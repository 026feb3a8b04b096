"""Benchmark: staging's indexes kept up to date row by row against dropped and rebuilt inside the
load's transaction, by the batch's share of the table (issue 18; pipeline/ingest/staging_indexes.py).

Lands bench_pg_landing.py's harmonised Parquet once in a fresh database. For each scenario, staging
is set up with `other` rows of another site (landing rows past the batch, so no key repeats), plus,
for a rerun, the batch's own rows already loaded; then the load's staging work runs in one
transaction and is timed to its commit, both ways, the order alternating between scenarios:
- upkeep: delete the site's month, insert the batch's rows with the three indexes in place;
- rebuild: lock the table, delete the site's month, drop the indexes, insert, create them again.
Both leave the same rows (count and a hash of the batch's rows, checked). Writes `pg_staging_rebuild`.

usage: python bench/bench_pg_staging_rebuild.py [--rows 1000000] [--others 0,1,2,4] [--no-write]
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
    from pipeline.ingest import staging_indexes
    from pipeline.ingest.landing import create_landing, landing_table
    from pipeline.warehouse.core import Warehouse
    from pipeline.warehouse.ddl import ensure_schema

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the batch")
    ap.add_argument("--source-rows", type=int, default=10_000_000, help="which harmonised Parquet to land")
    ap.add_argument("--others", default="0,1,2,4", help="other sites' rows in staging, in multiples of --rows")
    ap.add_argument("--rerun", action="store_true", help="also: staging already holds the batch's own rows")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    parquet = OUT / f"harmonised_{args.source_rows}.parquet"
    if not parquet.exists():
        raise SystemExit(f"{parquet} is missing: run bench/bench_pg_landing.py --rows {args.source_rows} first")
    contract = get_contract("medication_administrations")
    table = f"staging.{contract.name}"
    cols = ", ".join(contract.column_names + ["_source_file", "_period"])
    landing = landing_table("bench")
    n = args.rows

    def insert(site: str, lo: int, hi: int) -> str:
        return (f"insert into {table} ({cols}, _batch_id, _site, _source_name) select {cols}, 'b_{site}', "
                f"'{site}', 'epma' from {landing} where _row > {lo} and _row <= {hi}")  # fmt: skip

    delete = f"delete from {table} where _site = 'RF4' and _source_name = 'epma' and _period = date '2018-01-01'"
    scenarios = [(f"first load of the site, {k}x its rows from other sites", k * n, False)
                 for k in map(int, args.others.split(","))]  # fmt: skip
    if args.rerun:
        scenarios.append(("rerun: the site's same rows replaced, nothing else", 0, True))
    load_before = os.getloadavg()[0]
    url, _, drop = pg_database("staging_rebuild")
    wh = Warehouse(url)
    results: list[tuple[str, float, float, float]] = []
    try:
        ensure_schema(wh)
        create_landing(wh, "bench", parquet, contract)
        if wh.scalar(f"select count(*) from {landing}") < n + max(m for _, m, _ in scenarios):
            raise SystemExit("the landed batch is too small for these scenarios")

        def setup(others: int, rerun: bool) -> None:
            with wh.begin() as conn:
                conn.execute(sa.text(f"truncate {table}"))
                staging_indexes.drop_indexes(conn, contract)
                if others:
                    conn.execute(sa.text(insert("OTH", n, n + others)))
                if rerun:
                    conn.execute(sa.text(insert("RF4", 0, n)))
                staging_indexes.create_indexes(conn, contract)
            with wh.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text(f"vacuum analyze {table}"))  # what autovacuum leaves between loads

        def timed(rebuild: bool) -> tuple[float, str]:
            t = time.perf_counter()
            with wh.begin() as conn:
                if rebuild:
                    conn.execute(sa.text(f"lock table {table} in access exclusive mode"))
                conn.execute(sa.text(delete))
                if rebuild:
                    staging_indexes.drop_indexes(conn, contract)
                conn.execute(sa.text(insert("RF4", 0, n)))
                if rebuild:
                    staging_indexes.create_indexes(conn, contract)
            seconds = time.perf_counter() - t
            indexes = wh.scalar(f"select count(*) from pg_indexes where schemaname = 'staging' and tablename = '{contract.name}'")
            assert indexes == 3, indexes
            digest = wh.scalar(f"select count(*) || ':' || sum(hashtext(row({cols})::text)::numeric) from {table}")
            return seconds, digest

        for i, (label, others, rerun) in enumerate(scenarios):
            got = {}
            for rebuild in (False, True) if i % 2 == 0 else (True, False):
                setup(others, rerun)
                got[rebuild] = timed(rebuild)
            assert got[True][1] == got[False][1], (label, got)
            share = staging_indexes.batch_share(n, others + (n if rerun else 0))
            results.append((label, share, got[False][0], got[True][0]))
            print(f"{label}: share {share:.2f}, upkeep {got[False][0]:.1f} s, rebuild {got[True][0]:.1f} s", flush=True)
    finally:
        wh.dispose()
        drop()
    load_after = os.getloadavg()[0]
    rows_md = "\n".join(f"| {label} | {share:.2f} | {up:.1f} | {rb:.1f} | {rb / up:.2f}x |" for label, share, up, rb in results)
    md = f"""
### PostgreSQL staging insert: indexes kept up to date or rebuilt, by the batch's share (issue 18)

`python bench/bench_pg_staging_rebuild.py --rows {n} --others {args.others}{' --rerun' if args.rerun else ''}`: a
{n:,}-row batch of the landed 10M-row extract into staging, in one transaction timed to its commit,
into a table set up before each timing with other sites' rows (and, for a rerun, the batch's own).
Upkeep: delete the site's month, insert with the three indexes in place (as loads ran before).
Rebuild: lock the table, delete, drop the indexes, insert, create them again with
maintenance_work_mem {staging_indexes.REBUILD_MAINTENANCE_WORK_MEM} (pipeline/ingest/staging_indexes.py). Both leave the same rows (hash checked).
Share: the batch's rows over the rows the rebuild reads (the table before the load plus the batch).

| staging before the load | batch share | upkeep s | rebuild s | rebuild / upkeep |
|---|---:|---:|---:|---:|
{rows_md}

Machine shared with other work (1-minute load average {load_before:.1f} before, {load_after:.1f} after, on
{os.cpu_count()} cores): single timings, each pair measured back to back.
"""
    if not args.no_write:
        write_section("pg_staging_rebuild", md)
    print(md)


if __name__ == "__main__":
    main()
