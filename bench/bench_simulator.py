"""Benchmark the simulator: medication administrations for one site, in a child process.

Baseline, measured in the same run: pyarrow writing the same number of rows of a trivial
two-column table to CSV, so the ratio shows what the simulator itself costs on top of
writing. Run `python bench/bench_simulator.py` (default 10M rows) or `--rows 200000`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import python, run_measured, write_section  # noqa: E402

DOSES_PER_MONTH_AT_SCALE_1 = 960_000  # measured; the first month is lower (the hospital fills up)
CHUNK = 250_000


def child_simulate(out: str, scale: float, months: int, flavour: str) -> None:
    from pipeline.simulator import SimulationSpec, simulate_site
    from pipeline.simulator.spec import parse_month

    start = parse_month("2016-04")
    end_index = start.year * 12 + start.month - 1 + months - 1
    spec = SimulationSpec(
        ods_code="RBM01",
        scale=scale,
        start=start,
        end=f"{end_index // 12}-{end_index % 12 + 1:02d}",
        flavour=flavour,
        datasets=("medication_administrations",),
    )
    result = simulate_site(spec, Path(out))
    print(json.dumps({"rows": result.rows["medication_administrations"]}))


def child_baseline(out: str, rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    schema = pa.schema([("id", pa.int64()), ("site", pa.string())])
    with pacsv.CSVWriter(Path(out) / "baseline.csv", schema) as writer:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            ids = pa.array(np.arange(start, start + n))
            writer.write_table(pa.table([ids, pa.repeat(pa.scalar("RBM01"), n)], schema=schema))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=10_000_000, help="medication rows to generate (about)")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--flavours", default="local_csv,contract_parquet")
    ap.add_argument("--no-write", action="store_true", help="print the section instead of writing docs/benchmarks.md")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, out, *rest = args.child
        if kind == "simulate":
            child_simulate(out, float(rest[0]), int(rest[1]), rest[2])
        else:
            child_baseline(out, int(rest[0]))
        return

    scale = args.rows / (args.months * DOSES_PER_MONTH_AT_SCALE_1)
    me = str(Path(__file__).resolve())
    lines = [
        "Simulator: `medication_administrations` for one site "
        f"({args.months} months, scale {scale:.3f}), generated and written by `simulate_site` in a child process. "
        "Baseline: pyarrow writing the same number of rows of a trivial two-column table to CSV.",
        "",
        "| flavour | rows | seconds | rows/s | peak RSS MiB | output MiB | baseline CSV s | ratio to baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for flavour in args.flavours.split(","):
        with tempfile.TemporaryDirectory() as out:
            cmd = [python(), me, "--child", "simulate", out, str(scale), str(args.months), flavour]
            seconds, rss, output = run_measured(cmd, cwd=ROOT)
            rows = json.loads(output.strip().splitlines()[-1])["rows"]
            size = sum(f.stat().st_size for f in Path(out).rglob("*") if f.is_file()) / 2**20
        with tempfile.TemporaryDirectory() as out:
            base_s, _, _ = run_measured([python(), me, "--child", "baseline", out, str(rows)], cwd=ROOT)
        lines.append(
            f"| {flavour} | {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} | {rss:.0f} | {size:.0f} "
            f"| {base_s:.1f} | {seconds / base_s:.1f}x |"
        )
    lines += [
        "",
        "Seconds include interpreter start-up and imports in the child; the simulator streams month "
        "by month in chunks of at most 250k rows, so peak memory does not grow with the row count.",
    ]
    markdown = "\n".join(lines)
    if args.no_write:
        print(markdown)
    else:
        write_section("simulator", markdown)
        print(markdown)


if __name__ == "__main__":
    main()
