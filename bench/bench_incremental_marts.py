"""Marts build time of a typical monthly run, incremental against full (issue 16: "use incremental
models where a month's rows are final").

    python bench/bench_incremental_marts.py DEMO.duckdb [--sites 200] [--repeat 2] [--workdir DIR]

DEMO.duckdb is a warehouse after `benefits run` on deploy/sites; `--sites N` derives N more trusts
from it as bench/bench_local_marts.py does. The warehouse is built once (every model in full, which
records what the incremental models were built from); then a monthly run is loaded: for every site
with medication administrations, one new month (its last month's doses a month later, new ids), in
staging with a batch record in meta.load_batch naming that month, as the loader writes them. Then
`build_marts` is timed in a child process on two copies of that warehouse, in turn: with
`full_refresh` (every model in full: the build before incremental models) and incremental. The
marts of the two are compared table for table (bench/compare_marts.py, the measures schema too).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CHILD = r"""
import json, sys, time
from pathlib import Path
from pipeline.config.sites import SiteConfig, load_sites
from pipeline.marts.build import build_marts, write_sites
from pipeline.warehouse.core import Warehouse

url, n, full = sys.argv[1], int(sys.argv[2]), sys.argv[4] == "full"
sites = list(load_sites(Path(sys.argv[3])))
regions = ["London", "Midlands", "North East and Yorkshire", "South West"]
sites += [SiteConfig(ods_code=f"B{i:03d}", name=f"Bench trust {i}", trust_type="acute", region=regions[i % 4],
                     role="trust") for i in range(n)]
wh = Warehouse(url)
write_sites(wh, sites)
t = time.perf_counter()
built = build_marts(wh, sites, suppression_threshold=7, full_refresh=full)
seconds = time.perf_counter() - t
wh.dispose()
print(json.dumps({"seconds": seconds, "models": len(built)}))
"""


def build(url: str, n: int, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, url, str(n), str(ROOT / "deploy" / "sites"), mode],
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{mode} build failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def load_new_month(path: Path) -> int:
    """One new month of medication administrations for every site that has them; the sites loaded."""
    con = duckdb.connect(str(path))
    sites = [r[0] for r in con.execute("select distinct _site from staging.medication_administrations").fetchall()]
    for site in sites:
        last = con.execute("select max(_period) from staging.medication_administrations where _site = ?", [site]).fetchone()[0]
        batch = f"bench-month-{site}"
        con.execute(
            "insert into staging.medication_administrations select * replace ("
            "administration_id || '-next' as administration_id, scheduled_at + interval 1 month as scheduled_at, "
            "administered_at + interval 1 month as administered_at, _period + interval 1 month as _period, "
            f"'{batch}' as _batch_id) from staging.medication_administrations where _site = ? and _period = ?",
            [site, last],
        )
        month = con.execute("select strftime(?::date + interval 1 month, '%Y-%m')", [last]).fetchone()[0]
        con.execute(
            "insert into meta.load_batch (batch_id, site_code, dataset, source_name, connector, months, loaded_at, "
            "status) values (?, ?, 'medication_administrations', 'bench', 'bench', ?, current_timestamp, 'loaded')",
            [batch, site, month],
        )
    con.close()
    return len(sites)


def main() -> int:
    from bench_local_marts import derive
    from compare_marts import compare, engine

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("demo", type=Path)
    p.add_argument("--sites", type=int, default=200)
    p.add_argument("--rows", type=int, default=30_000)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/bench-incremental-marts"))
    p.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md as it is")
    args = p.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    base = derive(args.demo.resolve(), args.workdir / f"sites-{args.sites}.duckdb", args.sites, args.rows)
    built = args.workdir / "built.duckdb"
    shutil.copy(base, built)
    first = build(f"duckdb:///{built}", args.sites, "full")
    loaded = load_new_month(built)
    times: dict[str, list[float]] = {"full": [], "incremental": []}
    for i in range(args.repeat):
        for mode in times:
            copy = args.workdir / f"{mode}.duckdb"
            shutil.copy(built, copy)
            result = build(f"duckdb:///{copy}", args.sites, mode)
            times[mode].append(result["seconds"])
            print(f"round {i + 1} {mode}: {result['seconds']:.1f} s, {result['models']} models", flush=True)
    differ = compare(engine(str(args.workdir / "full.duckdb")), engine(str(args.workdir / "incremental.duckdb")),
                     extra=("measures",))  # fmt: skip
    f, n = statistics.median(times["full"]), statistics.median(times["incremental"])
    summary = {"sites": args.sites, "sites_loaded": loaded, "first_build_s": round(first["seconds"], 1),
               "full_s": round(f, 1), "incremental_s": round(n, 1), "speedup": round(f / n, 2),
               "identical": not differ, "differ": differ[:5], "load_average": os.getloadavg()}  # fmt: skip
    print(json.dumps(summary))
    if not args.no_write and not differ:
        write(summary, times, first["models"])
    return 0 if not differ else 1


def write(s: dict, times: dict[str, list[float]], models: int) -> None:
    from _report import write_section

    runs = {k: ", ".join(f"{t:.1f}" for t in v) for k, v in times.items()}
    write_section("incremental_marts", f"""
## Incremental models: a monthly run's marts build (`bench/bench_incremental_marts.py`)

Issue 16, "use incremental models where a month's rows are final" (design: docs/architecture.md,
"Incremental models"). The warehouse: the demo's after `benefits run` plus {s['sites']} derived trusts
(as `bench:local_marts`), built once in full; then one new month of medication administrations
loaded for each of its {s['sites_loaded']} sites (a batch per site, recorded in meta.load_batch). `build_marts`
({models} models, one transaction) timed in a child process on fresh copies of that warehouse, in turn:
every model in full (`full_refresh`, what every build did before) and incremental (the two critical-dose
measures refresh only the {s['sites_loaded']} new site-months; every other model in full). Medians of
{len(times['full'])} rounds; load average at the end {s['load_average'][0]:.1f} (2 shared cores).

| build | seconds (runs) |
|---|---|
| full (before) | {s['full_s']} ({runs['full']}) |
| incremental | {s['incremental_s']} ({runs['incremental']}) |
| full / incremental | {s['speedup']} |

The marts of the two builds (national, every local_<ods>, measures) compared row for row:
identical. The rest of the build's time is in what cannot be incremental: the disclosure-control
step (Python, every national figure, across months, quarters, years, regions and trust types), the
spell-based measures and the models that read them (docs/architecture.md says which and why).
""")


if __name__ == "__main__":
    sys.exit(main())
