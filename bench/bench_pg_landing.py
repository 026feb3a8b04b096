"""Benchmark: the PostgreSQL landing step alone (issue 18), CSV text COPY against binary COPY,
and binary COPY by the ADBC PostgreSQL driver's bulk ingest.

`benefits run` into PostgreSQL puts each harmonised batch into an unlogged landing table with
COPY before validating it (pipeline.ingest.landing.create_landing). bench_run.py --warehouse
postgresql found this step the largest in the run. This script measures `create_landing` on the
harmonised Parquet of bench_run.py's extract, once per COPY format, alternating the order between
repeats, each in a fresh child process and a fresh database, and checks that every format leaves
exactly the same rows (a hash over every landing row). The ADBC candidate (`adbc-driver-postgresql`,
installed by hand: it is not a dependency) creates the same table with `create_landing`'s columns
and ingests the Parquet's record batches on its own connection. Writes the `pg_landing` section.

usage: python bench/bench_pg_landing.py [--rows 10000000] [--repeat 2] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import python, run_measured, write_section  # noqa: E402
from bench_run import OUT, make_extract, pg_database, write_site  # noqa: E402

DATASET = "medication_administrations"


def child_harmonise(csv: str, out: str) -> None:
    import duckdb

    from connectors.base import ExtractContext
    from connectors.registry import get_connector
    from dataset_contracts.conform import harmonise
    from dataset_contracts.contracts import get_contract
    from pipeline.config.sites import load_sites

    site = load_sites(OUT / "sites", ["RF4"])[0]
    source = site.sources[0]
    ctx = ExtractContext(site_code="RF4", dataset=DATASET, source_name="epma", work_dir=OUT / "tmp")
    con = duckdb.connect(config={"memory_limit": "1GB", "temp_directory": str(OUT / "tmp")})
    connector = get_connector("files")(source.options, ctx)
    h = harmonise(con, connector.relation(con), get_contract(DATASET), site_code="RF4",
                  mappings=site.mapping(DATASET), file_columns=connector.file_columns, out_path=Path(out))  # fmt: skip
    print(json.dumps({"rows": h.rows}))


def child_landing(url: str, parquet: str) -> None:
    from dataset_contracts.contracts import get_contract
    from pipeline.ingest.landing import create_landing, landing_table
    from pipeline.warehouse.core import Warehouse
    from pipeline.warehouse.ddl import ensure_schema

    wh = Warehouse(url)
    ensure_schema(wh)
    t = time.perf_counter()
    if os.environ.get("BENEFITS_PG_COPY") == "adbc":
        _adbc_landing(wh, url, Path(parquet))
    else:
        create_landing(wh, "bench", Path(parquet), get_contract(DATASET))
    seconds = time.perf_counter() - t
    table = landing_table("bench")
    cols = [c.name for c in get_contract(DATASET).columns] + ["_source_file", "_period", "_conform_errors", "_row"]
    digest = wh.scalar(f"select count(*) || ':' || sum(hashtext(row({', '.join(cols)})::text)::numeric) from {table}")
    print(json.dumps({"seconds": seconds, "digest": digest}))


def _adbc_landing(wh, url: str, parquet: Path) -> None:
    """create_landing's table, filled by ADBC's bulk ingest (binary COPY written by the driver)."""
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow.parquet as pq

    from dataset_contracts.contracts import get_contract
    from pipeline.ingest.landing import ROW, landing_table

    contract = get_contract(DATASET)
    table = landing_table("bench")
    cols = [f"{c.name} {c.sql_type('postgresql')}" for c in contract.columns]
    cols += ["_source_file text", "_period date", "_conform_errors text", f"{ROW} bigint generated always as identity"]
    wh.execute(f"create unlogged table {table} ({', '.join(cols)})")
    names = contract.column_names + ["_source_file", "_period", "_conform_errors"]
    reader = pq.ParquetFile(parquet).iter_batches(batch_size=200_000, columns=names)
    first = next(reader)
    import pyarrow as pa

    stream = pa.RecordBatchReader.from_batches(first.schema, (b for batch in ([first], reader) for b in batch))
    with adbc.connect(url.replace("postgresql+psycopg://", "postgresql://")) as con, con.cursor() as cur:
        schema, name = table.split(".")
        cur.adbc_ingest(name, stream, mode="append", db_schema_name=schema)
        con.commit()


READING = """
Reading (first measured 2026-12-04): ADBC's driver writes the same binary COPY as pgpq, from C++ instead
of Rust, and came out no faster (best 30.1 s against 24.5 s, and slower in two of three repeats), so loads
keep pgpq and `adbc-driver-postgresql` is not a dependency. The server's COPY is most of either.
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        (child_harmonise if kind == "harmonise" else child_landing)(*rest)
        return

    csv, rows = make_extract(args.rows)
    write_site(csv)
    parquet = OUT / f"harmonised_{args.rows}.parquet"
    if not parquet.exists():
        run_measured([python(), __file__, "--child", "harmonise", str(csv), str(parquet)])
    load_before = os.getloadavg()[0]
    formats = ("csv", "binary", "adbc")
    results: dict[str, list[tuple[float, float, str]]] = {f: [] for f in formats}
    for i in range(args.repeat):
        for fmt in formats[i % 3:] + formats[: i % 3]:  # each format takes each place in turn
            url, _, drop = pg_database(f"landing_{fmt}")
            try:
                _, rss, out = run_measured([python(), __file__, "--child", "landing", url, str(parquet)],
                                           env={"BENEFITS_PG_COPY": fmt})  # fmt: skip
            finally:
                drop()
            r = json.loads(out.strip().splitlines()[-1])
            print(f"repeat {i} {fmt}: {r['seconds']:.1f} s, peak RSS {rss:.0f} MiB", flush=True)
            results[fmt].append((r["seconds"], rss, r["digest"]))
    load_after = os.getloadavg()[0]
    digests = {d for v in results.values() for _, _, d in v}
    if len(digests) != 1:
        raise SystemExit(f"the COPY formats left different landing rows: {results}")
    best = {f: min(v) for f, v in results.items()}
    per_repeat = "; ".join(f"{f}: " + ", ".join(f"{s:.1f} s" for s, _, _ in v) for f, v in results.items())
    md = f"""
### PostgreSQL landing: CSV text COPY, binary COPY by pgpq, binary COPY by ADBC (issue 18)

`python bench/bench_pg_landing.py --rows {args.rows} --repeat {args.repeat}`: `create_landing` alone on the harmonised
Parquet of bench_run.py's {rows:,}-row extract, into an unlogged table in a fresh database, each format
in its own child process, the order rotating between repeats. Every format leaves the same rows (one
hash over every landing row, row numbers included, checked equal).

| COPY format | best s | peak RSS MiB (best run) | vs CSV |
|---|---:|---:|---:|
| CSV text written by pyarrow in Python (before issue 18) | {best['csv'][0]:.1f} | {best['csv'][1]:,.0f} | 1.00x |
| binary, encoded from Arrow by pgpq (what loads use) | {best['binary'][0]:.1f} | {best['binary'][1]:,.0f} | {best['binary'][0] / best['csv'][0]:.2f}x |
| binary, ADBC PostgreSQL driver's bulk ingest (candidate) | {best['adbc'][0]:.1f} | {best['adbc'][1]:,.0f} | {best['adbc'][0] / best['csv'][0]:.2f}x |

Seconds per repeat: {per_repeat}. Machine shared with other work (1-minute load average
{load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} cores).
""" + READING
    if not args.no_write:
        write_section("pg_landing", md)
    print(md)


if __name__ == "__main__":
    main()
