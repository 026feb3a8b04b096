"""Benchmark: harmonise alone (dataset_contracts/conform.py), the working tree's against a git revision's.

Harmonise turns one ePMA extract into the batch's typed Parquet: the files connector's
relation over the CSV, codes trimmed and mapped, values typed, `_conform_errors` written
(issue 18). This times `harmonise()` itself, old and new on the same input, alternating
old/new each round, and reports the median CPU (user + system of this process, DuckDB's
threads included) and wall seconds; then checks that both wrote the same rows in the same
order (every column, NULLs included).

The extract is the simulator's `local_csv` flavour of one large acute trust (local column
names and local codes, the site's code maps from pipeline/simulator/codes.py), as in
bench/bench_run.py. `--ward-map` also maps the 24 ward codes (local -> national), a site
with a map of a few dozen entries. `--source table` reads the CSV into memory once, so only
the conform SELECT and the Parquet write are timed.

Findings (issue 18, DuckDB 1.5.6, 2.0M rows, a loaded 2-core machine): the code maps are not where
the time goes. DuckDB's common-subexpression pass already computes a mapped column's cleaned value
once (the plan shows it projected below the CASE), so a CASE costs about what no mapping costs,
even with `--ward-map`; a MAP literal lookup (`coalesce(MAP {...}[x], x)`) was slower than the
CASE. `trim` is: it decodes every character of every value to find the right end, then copies
it. Calling it only on values that start or end with ' ' or hold a non-ASCII byte (the only
ASCII space separator is ' ') gave identical output and cut harmonise's CPU by 13-14% from the
CSV (20% on an in-memory table), short of the 15% asked for, so it was not taken.

usage: python bench/bench_harmonise.py [--rows 2000000] [--repeat 3] [--baseline HEAD]
                                       [--out DIR] [--ward-map] [--source csv|table]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors import get_connector  # noqa: E402
from connectors.base import ExtractContext  # noqa: E402
from dataset_contracts.contracts import get_contract  # noqa: E402
from pipeline.simulator import SimulationSpec, simulate_site  # noqa: E402
from pipeline.simulator.codes import LOCAL_CODE_MAPS, LOCAL_COLUMNS, WARDS  # noqa: E402

DATASET = "medication_administrations"
MONTH = "2018-01"


def make_extract(out: Path, rows: int) -> Path:
    """One month of a large acute trust's ePMA extract, about `rows` rows (reused when present)."""
    target = out / f"extract_{rows}"
    truth = target / "ground_truth.json"
    if not truth.exists():
        shutil.rmtree(target, ignore_errors=True)
        # January runs below the yearly mean (about 0.82 of a month at this scale); bench_run.py corrects exactly.
        spec = SimulationSpec(ods_code="RF4", seed=7, scale=rows / 1_000_000 / 0.82, start=MONTH, end=MONTH, datasets=(DATASET,))
        simulate_site(spec, target)
    entry = json.loads(truth.read_text())["files"][DATASET][MONTH]
    return target / entry["path"]


def site_mappings(ward_map: bool) -> dict:
    mappings = {k: dict(v) for k, v in LOCAL_CODE_MAPS[DATASET].items()}
    wards = WARDS["acute"]
    mappings["ward_code"] = {w: f"RF4-{w}" for w in wards} if ward_map else list(wards)
    return mappings


def load_conform(rev: str | None, scratch: Path):
    """dataset_contracts/conform.py as it is at git revision `rev` (None: the working tree)."""
    if rev is None:
        path = ROOT / "dataset_contracts" / "conform.py"
    else:
        text = subprocess.run(
            ["git", "show", f"{rev}:dataset_contracts/conform.py"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        path = scratch / "conform_baseline.py"
        path.write_text(text)
    name = f"conform_{'worktree' if rev is None else 'baseline'}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_once(module, csv: Path, mappings: dict, scratch: Path, out_path: Path, source: str) -> tuple[float, float, int]:
    contract = get_contract(DATASET)
    options = {"path": str(csv), "columns": LOCAL_COLUMNS[DATASET]}
    ctx = ExtractContext(site_code="RF4", dataset=DATASET, source_name="epma", work_dir=scratch / "work")
    con = duckdb.connect(
        config={"memory_limit": "1GB", "temp_directory": str(scratch / "tmp"), "preserve_insertion_order": True}
    )
    connector = get_connector("files")(options, ctx)
    try:
        rel = connector.relation(con)
        if source == "table":
            rel.create("extract_in_memory")
            rel = con.table("extract_in_memory")
        out_path.unlink(missing_ok=True)
        c0, t0 = cpu_seconds(), time.perf_counter()
        result = module.harmonise(
            con,
            rel,
            contract,
            site_code="RF4",
            mappings=mappings,
            file_columns=connector.file_columns,
            out_path=out_path,
            formats=connector.config.formats,
            malformed=connector.malformed_lines,
        )
        return cpu_seconds() - c0, time.perf_counter() - t0, result.rows
    finally:
        con.close()
        connector.close()


def differences(a: Path, b: Path) -> dict:
    """Rows of one file not in the other (as multisets), and positions where the rows differ."""
    con = duckdb.connect()
    try:
        ra, rb = f"read_parquet('{a}')", f"read_parquet('{b}')"
        schema_a = con.execute(f"describe select * from {ra}").fetchall()
        schema_b = con.execute(f"describe select * from {rb}").fetchall()
        only_a = con.execute(f"select count(*) from (select * from {ra} except all select * from {rb})").fetchone()[0]
        only_b = con.execute(f"select count(*) from (select * from {rb} except all select * from {ra})").fetchone()[0]
        moved = con.execute(f"select count(*) from {ra} x positional join {rb} y where x is distinct from y").fetchone()[0]
        errors = con.execute(f"select count(_conform_errors) from {ra}").fetchone()[0]
        return {
            "same_schema": schema_a == schema_b,
            "only_old": only_a,
            "only_new": only_b,
            "rows_differing_in_order": moved,
            "rows_with_conform_errors": errors,
        }
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", default="HEAD", help="git revision whose conform.py is the old one")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "harmonise")
    ap.add_argument("--ward-map", action="store_true", help="map the 24 ward codes too (a few dozen entries)")
    ap.add_argument("--source", choices=("csv", "table"), default="csv")
    args = ap.parse_args()

    scratch = args.out
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    csv = make_extract(scratch, args.rows)
    mappings = site_mappings(args.ward_map)
    versions = {"old": load_conform(args.baseline, scratch), "new": load_conform(None, scratch)}
    outs = {k: scratch / f"harmonised_{k}.parquet" for k in versions}

    timings: dict[str, list[tuple[float, float]]] = {k: [] for k in versions}
    rows = 0
    for i in range(args.repeat):
        for name in ("old", "new") if i % 2 == 0 else ("new", "old"):
            cpu, wall, rows = run_once(versions[name], csv, mappings, scratch, outs[name], args.source)
            timings[name].append((cpu, wall))
            print(f"round {i + 1} {name}: cpu {cpu:.2f} s, wall {wall:.2f} s", flush=True)

    med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v)) for k, v in timings.items()}
    diff = differences(outs["old"], outs["new"])
    identical = diff["same_schema"] and not (diff["only_old"] or diff["only_new"] or diff["rows_differing_in_order"])
    wards = "yes" if args.ward_map else "no (value set)"
    print(f"\n{rows:,} rows, source {args.source}, ward map {wards}, baseline {args.baseline}")
    print("| | CPU s (median) | wall s (median) |\n|---|---:|---:|")
    for k, (c, w) in med.items():
        print(f"| {k} | {c:.2f} | {w:.2f} |")
    print(f"new/old: CPU {med['new'][0] / med['old'][0]:.2f}x, wall {med['new'][1] / med['old'][1]:.2f}x")
    print(f"output identical: {identical} {diff}")


if __name__ == "__main__":
    main()
