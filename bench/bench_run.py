"""Benchmark: `benefits run` on one site whose ePMA extract is one 10M-row CSV, end to end into DuckDB
or PostgreSQL, next to a plain SQL script doing the same checks, quarantine, load and monthly
aggregate on the same engine (bench/plain_pipeline.py), measured back to back in the same run.
Writes the `run_10m` section (DuckDB) or the `run_10m_postgresql` section of docs/benchmarks.md.

PostgreSQL: every measurement gets a fresh database on BENEFITS_TEST_PG_URL's server, dropped
after it; the floor COPYs the CSV as text into an unlogged table (`--copy server`: the server
reads the file, it runs on this machine; `--copy stdin`: psycopg streams the bytes). The run
records its warehouse statements (BENEFITS_SQL_PROFILE) to break the stages down, and a sampler
reads the server backends' private memory (RssAnon) from /proc while each measurement runs.

usage: python bench/bench_run.py [--rows 10000000] [--repeat 3] [--warehouse duckdb|postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import ROOT, python, run_measured, write_section  # noqa: E402

from pipeline.simulator import SimulationSpec, simulate_site  # noqa: E402
from pipeline.simulator.codes import LOCAL_CODE_MAPS, LOCAL_COLUMNS, WARDS  # noqa: E402

OUT = ROOT / "bench" / "out" / "run"
PG_ADMIN = os.environ.get("BENEFITS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Several people (or agents) may bench against one server: a prefix keeps each one's databases apart.
PG_DB_PREFIX = os.environ.get("BENCH_PG_DB_PREFIX", "bench_run")
MONTH = "2018-01"
ROWS_PER_SCALE_UNIT = 1_000_000  # a large acute trust schedules about 1M doses a month


def make_extract(rows: int) -> tuple[Path, int]:
    """One month of one large acute trust's ePMA extract with at least `rows` rows (within 1%).

    January runs below the yearly mean (seasonality), so the scale is corrected once from the
    first draw's count."""
    target = OUT / f"extract_{rows}"
    truth = target / "ground_truth.json"
    scale = rows / ROWS_PER_SCALE_UNIT
    for _ in range(3):
        if not truth.exists():
            shutil.rmtree(target, ignore_errors=True)
            spec = SimulationSpec(
                ods_code="RF4",
                seed=7,
                scale=scale,
                start=MONTH,
                end=MONTH,
                datasets=("medication_administrations",),
            )
            simulate_site(spec, target)
        entry = json.loads(truth.read_text())["files"]["medication_administrations"][MONTH]
        if entry["rows"] >= rows * 0.99:
            return target / entry["path"], entry["rows"]
        scale *= rows / entry["rows"] * 1.005
        truth.unlink()
    raise RuntimeError(f"could not simulate {rows:,} rows for {MONTH}")


def write_site(csv: Path, sites: Path | None = None) -> Path:
    sites = sites or OUT / "sites"
    shutil.rmtree(sites, ignore_errors=True)
    sites.mkdir(parents=True)
    mappings = {k: dict(v) for k, v in LOCAL_CODE_MAPS["medication_administrations"].items()}
    mappings["ward_code"] = list(WARDS["acute"])
    config = {
        "ods_code": "RF4",
        "name": "Benchmark acute trust",
        "trust_type": "acute",
        "region": "London",
        "sources": [
            {
                "name": "epma",
                "connector": "files",
                "dataset": "medication_administrations",
                "options": {"path": str(csv), "columns": LOCAL_COLUMNS["medication_administrations"]},
            }
        ],
        "mappings": {"medication_administrations": mappings},
    }
    (sites / "RF4.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return sites


def small_run(csv: Path, prefect_home: Path) -> float:
    """Wall seconds of `benefits run` on the extract's first 1,000 rows: what every run pays."""
    small = OUT / "small"
    shutil.rmtree(small, ignore_errors=True)
    small.mkdir(parents=True)
    with open(csv, encoding="utf-8") as src, open(small / csv.name, "w", encoding="utf-8") as out:
        out.writelines(line for _, line in zip(range(1001), src))
    sites = write_site(small / csv.name, small / "sites")
    seconds, _, _ = run_measured([python(), "-m", "pipeline", "run", "--sites", str(sites)],
                                 env={"BENEFITS_HOME": str(small / "home"), "PREFECT_HOME": str(prefect_home),
                                      "BENEFITS_WAREHOUSE_URL": ""})  # fmt: skip
    return seconds


def warm_prefect(prefect_home: Path) -> None:
    """Prefect migrates a fresh home on first use (~15 s); a deployed system has done that once."""
    code = "from prefect import flow\n@flow\ndef warm():\n    return 1\nwarm()\n"
    run_measured([python(), "-c", code], env={"PREFECT_HOME": str(prefect_home)})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warehouse", choices=("duckdb", "postgresql"), default="duckdb")
    ap.add_argument("--copy", choices=("server", "stdin"), default="server", help="PostgreSQL floor: how the CSV is COPYed")
    ap.add_argument("--no-write", action="store_true", help="print the section, leave docs/benchmarks.md alone")
    args = ap.parse_args()
    if args.warehouse == "postgresql":
        return main_postgresql(args)

    csv, rows = make_extract(args.rows)
    sites = write_site(csv)
    prefect_home = OUT / "prefect_home"
    warm_prefect(prefect_home)

    results = []
    for i in range(args.repeat):
        db = OUT / f"plain_{i}.duckdb"
        db.unlink(missing_ok=True)
        plain_s, plain_mb, plain_out = run_measured([python(), str(ROOT / "bench" / "plain_pipeline.py"), str(csv), str(db), MONTH])
        home = OUT / f"home_{i}"
        shutil.rmtree(home, ignore_errors=True)
        summary = OUT / f"summary_{i}.json"
        run_s, run_mb, _ = run_measured(
            [python(), "-m", "pipeline", "run", "--sites", str(sites), "--summary-json", str(summary)],
            env={"BENEFITS_HOME": str(home), "PREFECT_HOME": str(prefect_home), "BENEFITS_WAREHOUSE_URL": ""},
        )
        result = json.loads(summary.read_text())
        [outcome] = result["outcomes"]
        assert outcome["status"] == "loaded", outcome
        results.append((plain_s, plain_mb, plain_out.strip(), run_s, run_mb, outcome, result))

    small_s = small_run(csv, prefect_home)
    # The headline is the median repeat by ratio (not the best): a goal met only on a lucky
    # run is not met. Each repeat measures the plain script and the run back to back.
    results.sort(key=lambda r: r[3] / r[0])
    plain_s, plain_mb, plain_out, run_s, run_mb, outcome, result = results[len(results) // 2]
    ratios = ", ".join(f"{r[3] / r[0]:.2f}x" for r in results)
    t = outcome["timings"]
    rt = result["timings"]
    after = sum(rt.get(k, 0.0) for k in ("docs_seconds", "marts_seconds", "benefits_seconds", "artifacts_seconds", "html_report_seconds"))
    in_flow = rt["wall_seconds"] - sum(t[k] for k in ("extract", "validate", "load")) - after
    outside = run_s - rt["wall_seconds"]
    ratio = run_s / plain_s
    data_s = sum(t[k] for k in ("extract", "validate", "load"))
    fixed_s = run_s - data_s
    goal = 1.2  # issue 18 (issue #2 asked for 2x)
    verdict = "Within" if ratio <= goal else "Not within"
    stages = [
        ("extract + harmonise (file hash, DuckDB reads the CSV, maps codes, casts, writes typed Parquet)", t["extract"]),
        ("validate (the dataset's Great Expectations suite, run as SQL over the landing view)", t["validate"]),
        ("load (repeated keys, failing rows flagged once, quarantine, staging by row number, lineage: one transaction)", t["load"]),
        ("after the load: Data Docs, marts, benefits, artifacts, HTML report", after),
        ("flow and task runs (Prefect API calls between the stages)", in_flow),
        ("outside the flow: interpreter, imports, waiting for Prefect's temporary API, exit", outside),
    ]
    table = "\n".join(f"| {name} | {sec:.1f} | {sec / run_s:.0%} |" for name, sec in stages)
    md = f"""
### `benefits run`, one site, one {rows:,}-row ePMA CSV, into DuckDB (issue #2)

| | seconds | peak RSS (MiB) |
|---|---:|---:|
| plain DuckDB SQL script (baseline: same row rules, split, aggregate) | {plain_s:.1f} | {plain_mb:,.0f} |
| `benefits run --sites DIR` (whole process) | {run_s:.1f} | {run_mb:,.0f} |
| **ratio** | **{ratio:.2f}x** (issue 18 goal: at most {goal}x) | goal: under 2,560 |

{verdict} {goal}x. Ratios of the {len(results)} repeats, each measuring the script and the run back to
back: {ratios}; the table shows the median one.

Where `benefits run`'s time goes (the run's own stage timings):

| stage | seconds | share |
|---|---:|---:|
{table}

Rows: {outcome['rows_in']:,} extracted, {outcome['rows_loaded']:,} loaded, {outcome['rows_quarantined']:,} quarantined
(baseline: {plain_out}). The Prefect home was migrated before timing, as on any deployed system.

**What holds the ratio.** The data work alone (extract, validate, load: {data_s:.1f} s) is {data_s / plain_s:.2f}x the
floor, and the fixed costs every run pays whatever its size (outside the flow, the flow and task runs,
the steps after the load: {fixed_s:.1f} s) come on top. The same run on the extract's first 1,000 rows took
{small_s:.1f} s, measured in the same session: the interpreter, importing Prefect and the flows (about 2 s) and Great Expectations (about 2 s) while
Prefect's temporary API boots, GX's first validation in the process, the batch's Data Docs page and
the report. The data work does what the floor does plus one more pass: the typed Parquet file and the
GX suite's scans ({t['validate']:.1f} s), which the floor has no equivalent of. So 1.2x cannot be
reached by trimming the run: it would take a process that stays up between runs (a deployed worker,
where national runs already batch 12 sites per process, `national_run_batches`), so that the fixed
costs are paid once, and a validation that shares the load's single pass over the rows instead of
scanning them again (GX evaluates each expectation as its own query).

What keeps the run's own cost down (each measured on this benchmark; before them the run took
2.44x, on 8.0M rows): the load tests the row rules once and moves staging rows by landing row number rather
than re-testing every rule (load 14 s to 9-10 s); Prefect's temporary API server is launched
as the command starts and boots while it imports (4-5 s); the heap the imports leave is frozen
out of the garbage collector's full passes (1-2 s during the run, 2 s at exit); bytes that are
not UTF-8 are left to DuckDB to find, the connector re-reading a file only when DuckDB rejects
it (0.8 s); the source-system tag, and Prefect's concurrency-limit call it costs per task, is
set only when a Prefect server is configured (0.1-2 s); harmonise replaces NUL bytes only in the
values that hold one, not by copying every string (about 5 s of CPU of harmonise's 21, issue 18);
the early temporary API is named in the environment rather than handed to Prefect's
SubprocessASGIServer, whose module (the whole API server) took 2-2.5 s to import (issue 18); the
repeated keys are grouped once per batch for GX and the load, not once by each (issue 18).

Measured and not taken (issue 18): harmonising straight into a DuckDB landing table instead of the
typed Parquet file cost more than it saved (DuckDB's table write took about twice the CPU of the
Parquet write; the later table scans saved about 20% of scans that take a second each); the
Parquet codec barely matters (snappy, lz4_raw, zstd and uncompressed all within the noise of a
~33 s CPU write, which is mostly typing, not encoding); the file hash is 1.6 s of 1 GB read by
the files connector before DuckDB reads the file, to tell whether it changed at all.
"""
    if not args.no_write:
        write_section("run_10m", md)
    print(md)

# -- PostgreSQL (issue 18) ---------------------------------------------------------------------------
def pg_database(tag: str):
    """A fresh database on the benchmark server: (psycopg URL, drop)."""
    import psycopg

    name = f"{PG_DB_PREFIX}_{tag}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://")

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')

    return f"{base}/{name}", name, drop


class ServerMemory(threading.Thread):
    """Peak of the summed private memory (RssAnon: work_mem, hash tables, sorts; not the shared
    buffers) of the server processes connected to one database, sampled every 0.25 s from /proc
    (the server runs on this machine). None if /proc is not readable."""

    def __init__(self, database: str):
        super().__init__(daemon=True)
        self.database, self.peak_mib, self.readable = database, 0.0, True
        self._halt = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            while not self._halt.is_set():
                pids = [r[0] for r in con.execute("select pid from pg_stat_activity where datname = %s", (self.database,))]
                total = 0
                for pid in pids:
                    try:
                        for line in open(f"/proc/{pid}/status"):
                            if line.startswith("RssAnon:"):
                                total += int(line.split()[1])
                    except FileNotFoundError:
                        pass
                    except PermissionError:
                        self.readable = False
                self.peak_mib = max(self.peak_mib, total / 1024)
                self._halt.wait(0.25)

    def stop(self) -> float | None:
        self._halt.set()
        self.join()
        return self.peak_mib if self.readable else None


def load_profile(path: Path) -> dict[str, float]:
    """Warehouse seconds of the run by kind of statement (see pipeline/warehouse/profile.py)."""
    kinds = [
        ("landing_copy", "copy landing."),
        ("landing_ddl", "create unlogged table landing."),
        ("flag", "create temporary table _dq_failed"),
        ("quarantine", "insert into quarantine."),
        ("staging", "insert into staging."),
        ("replace", "delete from staging."),
        ("replace", "delete from quarantine."),
        ("drop_landing", "drop table if exists landing."),
        # pipeline/ingest/staging_indexes.py: the rebuild path (ensure_schema's creates on empty tables are ms)
        ("indexes", "lock table staging."),
        ("indexes", "drop index if exists staging."),
        ("indexes", "set local maintenance_work_mem"),
        ("indexes", "create index if not exists"),
    ]
    out: dict = {"other": 0.0, "encode": 0.0}
    for line in path.read_text().splitlines() if path.exists() else []:
        r = json.loads(line)
        sql = r["sql"].lower()
        kind = next((k for k, prefix in kinds if sql.startswith(prefix)), "other")
        out[kind] = out.get(kind, 0.0) + r["s"]
        out["encode"] += r.get("encode_s", 0.0)
        if kind == "landing_copy":
            out["landing_format"] = r.get("format", "csv")
    return out


def measure_pg(kind: str, cmd: list[str], env: dict | None = None) -> tuple[float, float, float | None, str]:
    url, name, drop = pg_database(kind)
    sampler = ServerMemory(name)
    sampler.start()
    try:
        seconds, rss, out = run_measured([c.replace("{url}", url) for c in cmd],
                                         env={k: v.replace("{url}", url) for k, v in (env or {}).items()})  # fmt: skip
    finally:
        server = sampler.stop()
        drop()
    return seconds, rss, server, out


def main_postgresql(args) -> None:
    import subprocess

    csv, rows = make_extract(args.rows)
    sites = write_site(csv)
    prefect_home = OUT / "prefect_home"
    warm_prefect(prefect_home)
    load_before = os.getloadavg()[0]

    results = []
    for i in range(args.repeat):
        plain_s, plain_mb, plain_srv, plain_out = measure_pg(
            "plain", [python(), str(ROOT / "bench" / "plain_pipeline.py"), str(csv), "{url}", MONTH, "--copy", args.copy]
        )
        plain_out = plain_out.strip().splitlines()[-1]
        home = OUT / f"home_pg_{i}"
        shutil.rmtree(home, ignore_errors=True)
        summary, prof = OUT / f"summary_pg_{i}.json", OUT / f"sql_profile_pg_{i}.jsonl"
        prof.unlink(missing_ok=True)
        run_s, run_mb, run_srv, _ = measure_pg(
            "run",
            [python(), "-m", "pipeline", "run", "--sites", str(sites), "--summary-json", str(summary)],
            env={"BENEFITS_HOME": str(home), "PREFECT_HOME": str(prefect_home), "BENEFITS_WAREHOUSE_URL": "{url}",
                 "BENEFITS_SQL_PROFILE": str(prof)},  # fmt: skip
        )
        result = json.loads(summary.read_text())
        [outcome] = result["outcomes"]
        assert outcome["status"] == "loaded", outcome
        steps = json.loads(plain_out.split("steps=", 1)[1])
        print(f"repeat {i}: plain {plain_s:.1f} s, run {run_s:.1f} s, ratio {run_s / plain_s:.2f}x", flush=True)
        results.append((plain_s, plain_mb, plain_srv, plain_out, steps, run_s, run_mb, run_srv, outcome, result,
                        load_profile(prof)))  # fmt: skip
    load_after = os.getloadavg()[0]

    results.sort(key=lambda r: r[5] / r[0])
    plain_s, plain_mb, plain_srv, plain_out, steps, run_s, run_mb, run_srv, outcome, result, prof = results[len(results) // 2]
    ratios = ", ".join(f"{r[5] / r[0]:.2f}x" for r in results)
    t, rt = outcome["timings"], result["timings"]
    after_keys = ("docs_seconds", "marts_seconds", "benefits_seconds", "artifacts_seconds", "html_report_seconds")
    after = sum(rt.get(k, 0.0) for k in after_keys)
    setup = rt.get("setup_seconds", 0.0)
    in_flow = rt["wall_seconds"] - sum(t[k] for k in ("extract", "validate", "load")) - after - setup
    outside = run_s - rt["wall_seconds"]
    landing = prof.get("landing_copy", 0.0) + prof.get("landing_ddl", 0.0)
    load_parts = {k: prof.get(k, 0.0) for k in ("replace", "flag", "quarantine", "staging", "indexes")}
    ratio = run_s / plain_s
    encoding = ("encoded for binary COPY by pgpq" if prof.get("landing_format") == "binary"
                else "written as CSV text in Python")  # fmt: skip
    stages = [
        ("extract + harmonise (file hash, DuckDB reads the CSV, maps codes, casts, writes typed Parquet)", t["extract"], ""),
        (f"validate: landing, the typed Parquet read by pyarrow, {encoding}, COPY into an unlogged table", landing, f"of which encoding {prof.get('encode', 0.0):.1f} s"),
        ("validate: repeated keys grouped once, by DuckDB over the Parquet, into a small table (for GX and the load)", t.get("repeated_keys", 0.0), ""),
        ("validate: the Great Expectations suite as SQL over the landing table", t["validate"] - landing - t.get("repeated_keys", 0.0), ""),
        ("load: delete the months being replaced", load_parts["replace"], ""),
        ("load: every rule tested once, failing rows kept with their row numbers", load_parts["flag"], ""),
        ("load: insert into quarantine", load_parts["quarantine"], ""),
        ("load: insert into staging (anti-join on row number, WAL; indexes kept up to date unless rebuilt)", load_parts["staging"], ""),
        ("load: staging's three indexes dropped and created again (a batch that is most of the table)", load_parts["indexes"], ""),
        ("load: the rest (meta tables, GX results, watermark, commit)", t["load"] - sum(load_parts.values()), ""),
        ("drop the landing table", prof.get("drop_landing", 0.0), ""),
        ("setup (schemas and tables in the fresh database)", setup, ""),
        ("after the load: Data Docs, marts, benefits, artifacts, HTML report", after, ""),
        ("flow and task runs (Prefect API calls between the stages), and the rest of the flow", in_flow - prof.get("drop_landing", 0.0), ""),
        ("outside the flow: interpreter, imports, waiting for Prefect's temporary API, exit", outside, ""),
    ]
    table = "\n".join(f"| {name} | {sec:.1f} | {sec / run_s:.0%} | {note} |" for name, sec, note in stages)
    floor_steps = ", ".join(f"{k} {v:.1f} s" for k, v in steps.items() if k != "backend_hwm_mib" and v is not None)
    srv = lambda v: "n/a" if v is None else f"{v:,.0f}"  # noqa: E731
    pg_version = subprocess.run(["psql", PG_ADMIN.replace("+psycopg", ""), "-Atc", "show server_version"],
                                capture_output=True, text=True).stdout.strip() or "?"  # fmt: skip
    copy_how = "the server reads the CSV file itself" if args.copy == "server" else "psycopg streams the file's bytes"
    md = f"""
### `benefits run`, one site, {rows / 1e6:.0f}M-row ePMA CSV, into PostgreSQL (issue 18)

`python bench/bench_run.py --warehouse postgresql --rows {args.rows} --repeat {args.repeat}`: the same site and
{rows:,}-row CSV as the DuckDB section above, into PostgreSQL {pg_version} on this machine, a fresh database
for every measurement. Floor: bench/plain_pipeline.py's rules rendered for PostgreSQL, `COPY ... FROM`
the CSV as text into an unlogged table ({copy_how}), then typed, repeated keys, quarantine, a clean
(logged) table and the monthly aggregate as plain SQL.

| | seconds | client peak RSS (MiB) | server backends' peak private memory (MiB) |
|---|---:|---:|---:|
| plain PostgreSQL: COPY + SQL (same row rules, split, aggregate) | {plain_s:.1f} | {plain_mb:,.0f} | {srv(plain_srv)} |
| `benefits run --sites DIR` (whole process) | {run_s:.1f} | {run_mb:,.0f} | {srv(run_srv)} |
| **ratio** | **{ratio:.2f}x** (issue 18 goal: at most 1.3x) | goal: under 1,536 | |

{"Within" if ratio <= 1.3 else "Not within"} 1.3x. Ratios of the {len(results)} repeat(s), each measuring the floor and the run
back to back: {ratios}; the table shows the {"median" if len(results) % 2 else "higher"} one. The machine was shared (1-minute load average
{load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} cores), so absolute seconds are slow and noisy;
the ratio travels better. Floor steps: {floor_steps}.

Where `benefits run`'s time goes (the run's stage timings; inside validate and load, the seconds of the
warehouse statements the run recorded with `BENEFITS_SQL_PROFILE`):

| stage | seconds | share of wall time | |
|---|---:|---:|---|
{table}

Rows: {outcome['rows_in']:,} extracted, {outcome['rows_loaded']:,} loaded, {outcome['rows_quarantined']:,} quarantined
(floor: {plain_out.split(' steps=')[0]}).
"""
    top = sorted(stages, key=lambda st: -st[1])[:4]
    md += "\nThe largest stages: " + "; ".join(f"{name.split(' (')[0]} {sec / run_s:.0%}" for name, sec, _ in top) + ".\n"
    md += POSTGRESQL_READING
    if not args.no_write:
        write_section("run_10m_postgresql", md)
    print(md)


POSTGRESQL_READING = """
**Reading.** Against DuckDB, the PostgreSQL run moves the same rows more often: DuckDB types the
CSV and writes Parquet (extract), landing turns that Parquet into binary COPY data (pgpq) that
the server writes into an unlogged landing table, then the load copies every row once more into
staging, a logged table with three indexes (site/source/months, batch id, key: what reruns delete
by). The floor COPYs the raw CSV once and writes staging without indexes, but types the text in
the server, which costs it more than DuckDB's typing and the binary landing together.

What brought the run to the floor, each measured on this benchmark (sections below):
- binary landing: `create_landing` from 23.6 s to 12.9 s on 10M rows (0.55x; `pg_landing`, where
  ADBC's bulk ingest was measured too and was no faster);
- staging's indexes dropped and created again inside the load's transaction when the batch is at
  least half of what a rebuild reads (pipeline/ingest/staging_indexes.py: 0.53x-0.71x of upkeep
  on 5M-row batches, `pg_staging_rebuild`); a site's monthly batch in a national warehouse is a
  small share and keeps the indexes up to date;
- the repeated keys grouped once per batch, by the in-process DuckDB over the harmonised Parquet
  (about a second), into a small table that GX's key rule counts against and the load quarantines
  by. Before, the server grouped them twice: GX's uniqueness count (a window over every key, 7 s)
  and the load's temporary table (14-16 s). The run went from 1.39x (149.2 s against 107.0 s, on a
  quiet machine) to 1.00x right after the change (96.2 s against 95.7 s; 1.06x and 1.09x in the
  later repeats of the table above). The load's flagging of failing rows also fell, from 17.9 s to 9.3 s,
  now that it joins the keys table rather than a temporary table grouped inside the same
  transaction (the cause not isolated further).

What is left: the GX suite (each row rule a scan of its own) and the staging insert with its
index builds, about half of the run; for the upkeep of small batches into a large national
table, staging partitioned by site and source would keep a batch's index work to its own partition.
"""



if __name__ == "__main__":
    main()
