"""Benchmark the benefits engine: every benefit and the unplanned-change scan on a warehouse.

Workload: N synthetic sites x 8 national measures x M months in `measures.measure_monthly` of an
embedded DuckDB warehouse (drawn from the simulator's month-level model with effects at each
site's go-live), 3 benefits per site (two national-scope, one local). The measured step is
`pipeline.realise.realise` in a child process: load the series, evaluate every benefit as of
every month since go-live (SPC, ITS refits, cumulative benefit, status), scan every site x
measure for unplanned change, and write fact_benefit, fact_benefit_spc and
fact_unplanned_change to the national and local marts.

Baseline (same run, same machine): a child process that loads the same series and fits one
statsmodels quasi-Poisson GLM per benefit, once (no as-of refits, SPC, scan or writes).

    python bench/bench_benefits.py                 # 200 sites x 60 months (the acceptance size)
    python bench/bench_benefits.py --sites 10      # a quick check; does not write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._report import python, run_measured, write_section  # noqa: E402

FULL_SITES, FULL_MONTHS, LIMIT_SECONDS = 200, 60, 60.0


def build(path: Path, sites: int, months: int) -> int:
    from pipeline.warehouse.core import Warehouse
    from pipeline.warehouse.ddl import ensure_schema
    from tests.benefits.synthetic import build_measure_monthly, site_configs

    frame = build_measure_monthly(sites, months)
    wh = Warehouse(f"duckdb:///{path}")
    ensure_schema(wh, [s.schema for s in site_configs(sites, months)])
    types = {"site_code": "varchar", "measure_code": "varchar", "month": "date",
             "numerator": "double", "denominator": "double", "value": "double"}  # fmt: skip
    with wh.begin() as conn:
        wh.replace_table(conn, "measures.measure_monthly", frame, types)
    wh.dispose()
    return len(frame)


def child_engine(path: str, sites: int, months: int) -> None:
    from pipeline.marts.realise import realise
    from pipeline.warehouse.core import Warehouse
    from tests.benefits.synthetic import site_configs

    wh = Warehouse(f"duckdb:///{path}")
    t0 = time.perf_counter()
    result = realise(wh, site_configs(sites, months), suppression_threshold=7)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "stages": result.seconds, "benefits": result.benefits, "rows": result.rows,
                      "spc_rows": result.spc_rows, "unplanned": result.unplanned, "by_status": result.by_status}))  # fmt: skip


def child_baseline(path: str, sites: int, months: int) -> None:
    import numpy as np
    import statsmodels.api as sm

    from pipeline.marts.realise import load_series
    from pipeline.warehouse.core import Warehouse
    from tests.benefits.synthetic import site_configs

    wh = Warehouse(f"duckdb:///{path}")
    t0 = time.perf_counter()
    series = load_series(wh)
    groups = {k: g for k, g in series.groupby(["site_code", "measure_code"])}
    fits = 0
    for site in site_configs(sites, months):
        for b in site.benefit_list:
            g = groups[(site.ods_code, b.measure)].sort_values("month")
            t = np.arange(len(g), dtype=float)
            post = np.array([m >= b.go_live for m in g["month"]], dtype=float)
            X = np.column_stack([np.ones_like(t), t, post])
            sm.GLM(g["numerator"].to_numpy(), X, family=sm.families.Poisson(),
                   offset=np.log(g["denominator"].to_numpy())).fit(scale="X2")  # fmt: skip
            fits += 1
    print(json.dumps({"seconds": time.perf_counter() - t0, "fits": fits}))


def measure(kind: str, path: Path, sites: int, months: int) -> tuple[float, float, dict]:
    cmd = [python(), str(Path(__file__).resolve()), "--child", kind, "--warehouse", str(path),
           "--sites", str(sites), "--months", str(months)]  # fmt: skip
    seconds, rss, out = run_measured(cmd, cwd=ROOT)
    return seconds, rss, json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", type=int, default=FULL_SITES)
    ap.add_argument("--months", type=int, default=FULL_MONTHS)
    ap.add_argument("--child", choices=["engine", "baseline"])
    ap.add_argument("--warehouse")
    args = ap.parse_args()
    if args.child == "engine":
        return child_engine(args.warehouse, args.sites, args.months)
    if args.child == "baseline":
        return child_baseline(args.warehouse, args.sites, args.months)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        n_rows = build(path, args.sites, args.months)
        print(f"built {n_rows:,} measure rows in {time.perf_counter() - t0:.1f} s", flush=True)
        base_s, base_rss, base = measure("baseline", path, args.sites, args.months)
        load_before = os.getloadavg()[0]
        eng_s, eng_rss, eng = measure("engine", path, args.sites, args.months)
        load = max(load_before, os.getloadavg()[0])
    st = eng["stages"]
    verdict = "under" if eng_s < LIMIT_SECONDS else "OVER"
    print(
        f"engine: {eng_s:.1f} s wall ({eng['seconds']:.1f} s in realise: load {st['load']:.1f}, benefits "
        f"{st['benefits']:.1f}, scan {st['scan']:.1f}, write {st['write']:.1f}), {eng_rss:.0f} MiB; "
        f"baseline {base_s:.1f} s; {verdict} the {LIMIT_SECONDS:.0f} s limit"
    )
    if (args.sites, args.months) != (FULL_SITES, FULL_MONTHS):
        return
    table = (
        "| step | seconds | peak RSS MiB | ratio to baseline |\n|---|---:|---:|---:|\n"
        f"| baseline: load + one statsmodels GLM per benefit ({base['fits']} fits) | {base_s:.1f} | {base_rss:.0f} | 1.0x |\n"
        f"| engine: `realise` end to end | {eng_s:.1f} | {eng_rss:.0f} | {eng_s / base_s:.1f}x |\n"
        f"| - load measure_monthly | {st['load']:.1f} | | |\n"
        f"| - evaluate {eng['benefits']} benefits ({eng['rows']:,} as-of rows, {eng['spc_rows']:,} chart rows) | {st['benefits']:.1f} | | |\n"
        f"| - unplanned-change scan ({args.sites * 8:,} series, {eng['unplanned']:,} signals) | {st['scan']:.1f} | | |\n"
        f"| - write the marts ({args.sites} local + national, 3 tables each) | {st['write']:.1f} | | |\n"
    )
    write_section(
        "benefits",
        f"Benefits engine: {args.sites} sites x 8 measures x {args.months} months ({n_rows:,} rows of "
        f"`measures.measure_monthly`, embedded DuckDB), 3 benefits per site. Acceptance: under "
        f"{LIMIT_SECONDS:.0f} s for every benefit (SPC, an ITS refit as of every month since go-live, "
        f"cumulative benefit, status) plus the unplanned-change scan; result: {eng_s:.1f} s "
        f"({verdict} the limit).\n\n{table}\n"
        "Seconds are wall time of a child process, including interpreter start-up and imports; the stage "
        f"times are measured inside `realise`. Machine load average during the run: {load:.1f} (other work "
        "shares the 2 cores, so absolute seconds vary; the ratio travels better). Latest statuses: "
        + ", ".join(f"{k} {v}" for k, v in sorted(eng["by_status"].items()))
        + ".",
    )


if __name__ == "__main__":
    main()
