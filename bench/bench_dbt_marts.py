"""Marts build time, the runner against dbt, on one warehouse in the same run (issue 16 #2).

    python bench/bench_dbt_marts.py WAREHOUSE.duckdb|URL [--sites DIR] [--repeat N]

Builds the marts with the runner (pipeline.marts.build.build_marts: one transaction), then with
dbt (pipeline.marts.dbt.build_with_dbt: staging, measures and the local marts' all-sites tables,
suppression, national, then the local_<ods> views), alternating N times, and checks after each dbt build that every
national, local_<ods> and measures table equals the runner's. The warehouse must hold loaded
data (e.g. a copy of the demo's warehouse after `benefits run`); the build replaces its marts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.config.settings import DEFAULT_SITES_DIR  # noqa: E402
from pipeline.config.sites import load_sites  # noqa: E402
from pipeline.marts.build import build_marts  # noqa: E402
from pipeline.marts.dbt import build_with_dbt  # noqa: E402
from pipeline.warehouse.core import Warehouse  # noqa: E402
from tests.support.warehouse import mart_checksums  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("warehouse")
    p.add_argument("--sites", default=str(DEFAULT_SITES_DIR))
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--threshold", type=int, default=7)
    p.add_argument("--command", default="build", choices=("build", "run"), help="run: dbt without the key tests")
    args = p.parse_args()
    url = args.warehouse if "://" in args.warehouse else f"duckdb:///{Path(args.warehouse).resolve()}"
    wh = Warehouse(url)
    sites = load_sites(Path(args.sites))
    runner, dbt, parts = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as tmp:
        for i in range(args.repeat):
            t = time.perf_counter()
            built = build_marts(wh, sites, suppression_threshold=args.threshold)
            runner.append(time.perf_counter() - t)
            expected = mart_checksums(wh.engine, ("measures",))
            wh.dispose()
            t = time.perf_counter()
            run = build_with_dbt(wh, sites, suppression_threshold=args.threshold, local=True,
                                 target_path=Path(tmp) / "dbt", command=args.command)
            dbt.append(time.perf_counter() - t)
            parts.append(run.seconds)
            same = mart_checksums(wh.engine, ("measures",)) == expected
            print(f"round {i + 1}: runner {runner[-1]:.1f} s ({len(built)} models, one transaction); "
                  f"dbt {dbt[-1]:.1f} s ({len(run.built)} models + {run.tests} tests; "
                  + ", ".join(f"{k} {v:.1f}" for k, v in run.seconds.items()) + f"); identical: {same}")
            if not same:
                return 1
    wh.dispose()
    print(f"median: runner {statistics.median(runner):.1f} s, dbt {statistics.median(dbt):.1f} s "
          f"({len(sites)} sites, {sum(s.role == 'trust' for s in sites)} local marts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
