"""Benchmark: the `sql` connector extracting a large table from PostgreSQL and MariaDB.

    python bench/bench_sql_connector.py            # 5M rows (the issue's size)
    python bench/bench_sql_connector.py --rows 200000

Creates a fresh database on each server (dropped afterwards) holding a table shaped like an
ePMA dose extract (9 columns: text codes, a boolean, a timestamp, a double, a bigint). Each
measurement runs in its own child process, so its peak memory is its own:

- PostgreSQL: the connector (server-side cursor -> Arrow -> Parquet spool) next to
  `COPY (select ...) TO STDOUT` of the same table read by psycopg, the fastest way out;
- MariaDB: the connector next to a plain unbuffered DB-API cursor loop (PyMySQL SSCursor).

Targets (issue #3): at least 200k rows/s and under 500 MB peak for the connector.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._report import python, run_measured, write_section  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
MY_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/mysql"
TARGET_RATE, TARGET_MB = 200_000, 500


def pg_setup(name: str, rows: int) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'create database "{name}"'))
    admin.dispose()
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text(f"""
            create table doses as
            select 'A' || g as administration_id, 'RF4' as site_code, 'W' || (g % 24) as ward_code,
                   'D' || (g % 500) as drug_code, (g % 7 = 0) as critical_medicine,
                   timestamp '2018-01-01' + g * interval '7 seconds' as scheduled_at,
                   case when g % 10 = 0 then 'OMITTED' else 'GIVEN' end as status,
                   (g % 100)::float8 / 3 as dose_value, g::bigint as seq
            from generate_series(1, {rows}) g"""))
        c.execute(sa.text("analyze doses"))
    engine.dispose()
    return url


def my_setup(name: str, rows: int) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(MY_ADMIN)
    with admin.begin() as c:
        c.execute(sa.text(f"create database `{name}`"))
    admin.dispose()
    url = MY_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text(
            "create table doses (administration_id varchar(20), site_code varchar(8), ward_code varchar(8), "
            "drug_code varchar(8), critical_medicine bool, scheduled_at datetime, status varchar(12), "
            "dose_value double, seq bigint primary key)"))
        # MariaDB's Sequence engine makes the rows server-side, 1M at a time
        for start in range(0, rows, 1_000_000):
            end = min(rows, start + 1_000_000)
            c.execute(sa.text(f"""
                insert into doses select concat('A', seq), 'RF4', concat('W', seq % 24), concat('D', seq % 500),
                       seq % 7 = 0, timestamp '2018-01-01 00:00:00' + interval (seq * 7) second,
                       if(seq % 10 = 0, 'OMITTED', 'GIVEN'), (seq % 100) / 3, seq
                from seq_{start + 1}_to_{end}"""))
    engine.dispose()
    return url


def teardown(pg_name: str | None, my_name: str | None) -> None:
    import sqlalchemy as sa

    if pg_name:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f'drop database if exists "{pg_name}" with (force)'))
        admin.dispose()
    if my_name:
        admin = sa.create_engine(MY_ADMIN)
        with admin.begin() as c:
            c.execute(sa.text(f"drop database if exists `{my_name}`"))
        admin.dispose()


# -- the measured children -------------------------------------------------------------------------
def child(mode: str, url: str, work: str) -> None:
    # Imports first: the clock measures the extract, not Python loading its libraries.
    if mode == "connector":
        import duckdb

        from connectors.base import ExtractContext
        from connectors.sql import SqlConnector

        t0 = time.perf_counter()
        ctx = ExtractContext(site_code="RF4", dataset="medication_administrations", source_name="bench",
                             work_dir=Path(work))
        conn = SqlConnector({"url": url, "table": "doses"}, ctx)
        con = duckdb.connect()
        rel = conn.relation(con)
        rows = con.sql("select count(*) from rel").fetchone()[0]
        conn.close()
    elif mode == "pg_copy":
        import psycopg

        t0 = time.perf_counter()
        rows, nbytes = 0, 0
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as pg, pg.cursor() as cur:
            with cur.copy("copy (select * from doses) to stdout") as copy:
                for chunk in copy:
                    nbytes += len(chunk)
                    rows += bytes(chunk).count(b"\n")
    elif mode == "my_cursor":
        import pymysql
        import pymysql.cursors
        from sqlalchemy.engine import make_url

        t0 = time.perf_counter()
        u = make_url(url)
        db = pymysql.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password or "",
                             database=u.database, cursorclass=pymysql.cursors.SSCursor)
        rows = 0
        with db.cursor() as cur:
            cur.execute("select * from doses")
            for _ in cur:
                rows += 1
        db.close()
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps({"rows": rows, "seconds": time.perf_counter() - t0}))


def measure(mode: str, url: str, work: Path) -> dict:
    _, peak, out = run_measured([python(), __file__, "--child", mode, url, str(work)])
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = peak
    result["rate"] = result["rows"] / result["seconds"]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--child", nargs=3, metavar=("MODE", "URL", "WORK"), help=argparse.SUPPRESS)
    ap.add_argument("--no-write", action="store_true", help="print, do not update docs/benchmarks.md")
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    import tempfile

    import os

    load_before = os.getloadavg()[0]
    tag = uuid.uuid4().hex[:8]
    pg_name, my_name = f"bench_sql_pg_{tag}", f"bench_sql_my_{tag}"
    made_pg = made_my = None
    results = {}
    try:
        t = time.perf_counter()
        pg_url = pg_setup(pg_name, args.rows)
        made_pg = pg_name
        my_url = my_setup(my_name, args.rows)
        made_my = my_name
        print(f"set up {args.rows:,} rows in each database in {time.perf_counter() - t:.0f} s", flush=True)
        with tempfile.TemporaryDirectory() as work:
            for key, mode, url in (
                ("pg_copy", "pg_copy", pg_url),
                ("pg_connector", "connector", pg_url),
                ("my_cursor", "my_cursor", my_url),
                ("my_connector", "connector", my_url),
            ):
                results[key] = measure(mode, url, Path(work))
                r = results[key]
                print(f"{key}: {r['rows']:,} rows in {r['seconds']:.1f} s = {r['rate']:,.0f} rows/s, "
                      f"peak {r['peak_mb']:.0f} MiB", flush=True)
    finally:
        teardown(made_pg, made_my)
    for key, r in results.items():
        assert r["rows"] == args.rows, f"{key} read {r['rows']} rows, expected {args.rows}"

    def row(label, r, base):
        ratio = f"{r['rate'] / base['rate']:.2f}x" if base else "1.00x (baseline)"
        return f"| {label} | {r['seconds']:.1f} | {r['rate']:,.0f} | {r['peak_mb']:.0f} | {ratio} |"

    pg, my = results["pg_connector"], results["my_connector"]
    load = f"{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores"
    verdict = lambda r: (  # noqa: E731
        f"{'meets' if r['rate'] >= TARGET_RATE else 'MISSES'} {TARGET_RATE // 1000}k rows/s, "
        f"{'meets' if r['peak_mb'] < TARGET_MB else 'MISSES'} < {TARGET_MB} MB"
    )
    md = f"""## `sql` connector: {args.rows:,}-row table

`python bench/bench_sql_connector.py --rows {args.rows}`. A 9-column ePMA-like table (text codes,
a boolean, a timestamp, a double, a bigint) in a fresh database on each server; every
measurement is its own process (peak RSS is that process's; the clock starts once its
libraries are imported). The connector figure is the whole extract: server-side cursor, column-wise conversion to Arrow, Parquet spool, and DuckDB
counting the spooled rows. Target: >= {TARGET_RATE:,} rows/s and < {TARGET_MB} MB peak.

| PostgreSQL 127.0.0.1:5432 | seconds | rows/s | peak MiB | rate vs COPY |
|---|---:|---:|---:|---:|
{row("`COPY (select * from doses) TO STDOUT` (psycopg, rows discarded)", results["pg_copy"], None)}
{row("`sql` connector (named cursor, batches of 20,000)", pg, results["pg_copy"])}

| MariaDB 127.0.0.1:3306 | seconds | rows/s | peak MiB | rate vs cursor loop |
|---|---:|---:|---:|---:|
{row("plain cursor loop (PyMySQL SSCursor, `for row in cursor`)", results["my_cursor"], None)}
{row("`sql` connector (asyncmy unbuffered cursor, batches of 20,000)", my, results["my_cursor"])}

PostgreSQL: {verdict(pg)}. MariaDB: {verdict(my)}. COPY is the ceiling (the server writes text,
nothing is parsed); the cursor loop is what a hand-written extract script would do.
Machine load (1-minute load average): {load}; other work on the machine slows every row
alike, so compare the ratios.
"""
    print(md)
    if not args.no_write:
        write_section("sql_connector", md)


if __name__ == "__main__":
    main()
