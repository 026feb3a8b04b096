"""The unplanned-change scan re-scored on a validity harness run without rerunning the pipeline.

`bench/bench_validity.py --work DIR` keeps its site configs (with the simulator's effects) and its
warehouse. This reads the monthly series from that warehouse once (cached beside it), calls the
scan the way `benefits run` does (directions from the measure catalogue, months from a benefit's
go-live left out) and scores it as the harness does: a signal is true when it is on the site's
uncovered measure and starts within 6 months of that effect's go-live.

    python bench/bench_scan.py --work /work/scratch/val          # score the current scan
    python bench/bench_scan.py --work /work/scratch/val --list   # and every signal with its truth
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.simulator.spec import EFFECT_MEASURES  # noqa: E402


def load(work: Path) -> tuple[pd.DataFrame, list[dict]]:
    """The harness run's monthly series and its sites (ods, effects, uncovered measure, benefits)."""
    cache = work / "measure_monthly.parquet"
    if not cache.exists():
        import duckdb

        con = duckdb.connect(str(work / "home" / "benefits.duckdb"), read_only=True)
        con.execute(
            "select site_code, measure_code, month, numerator, denominator, value from measures.measure_monthly"
        ).df().to_parquet(cache)
        con.close()
    series = pd.read_parquet(cache)
    series["month"] = pd.to_datetime(series["month"]).dt.date
    sites = []
    for path in sorted((work / "sites").glob("*.yaml")):
        cfg = yaml.safe_load(path.read_text())
        planned = {b["measure"]: b["go_live"] for b in cfg.get("benefits", [])}
        effects = cfg["simulation"]["effects"]
        uncovered = [m for m in EFFECT_MEASURES if m not in planned]
        sites.append({"ods": cfg["ods_code"], "effects": effects, "uncovered": uncovered[0], "benefits": planned,
                      "scale": cfg["simulation"]["scale"], "trust_type": cfg["simulation"]["trust_type"]})  # fmt: skip
    return series, sites


def _month(text: str) -> dt.date:
    return dt.date.fromisoformat(text + "-01")


def run_scan(series: pd.DataFrame, sites: list[dict], settings=None) -> pd.DataFrame:
    from benefits.evaluate import MeasureSpec
    from benefits.scan import ScanSettings, scan_unplanned
    from pipeline.marts.build import measure_lookup

    lookup = measure_lookup()
    directions = {code: m.direction for code, m in lookup.items()}
    covered = {(s["ods"], m): _month(go) for s in sites for m, go in s["benefits"].items()}
    measures = {code: MeasureSpec.of(m) for code, m in lookup.items()}
    return scan_unplanned(series, directions, covered, settings or ScanSettings(), measures)


def label(scan: pd.DataFrame, sites: list[dict]) -> pd.DataFrame:
    """Each signal marked true or false by the harness's rule (bench_validity.score_scan)."""
    go = {s["ods"]: (s["uncovered"], next(_month(e["go_live"]) for e in s["effects"] if e["measure"] == s["uncovered"]))
          for s in sites}  # fmt: skip
    out = scan.copy()

    def true(r) -> bool:
        measure, g = go.get(r.site_code, (None, None))
        m = pd.Timestamp(r.first_month)
        return r.measure_code == measure and abs((m.year - g.year) * 12 + m.month - g.month) <= 6

    out["true"] = [true(r) for r in out.itertuples()] if len(out) else []
    return out


def score(scan: pd.DataFrame, sites: list[dict]) -> dict:
    lab = label(scan, sites)
    found = {r.site_code for r in lab.itertuples() if r.true}
    return {
        "signals": len(lab), "true": int(lab["true"].sum()) if len(lab) else 0,
        "precision": float(lab["true"].mean()) if len(lab) else float("nan"),
        "recall": len(found) / len(sites),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True, help="a bench_validity.py --work folder")
    ap.add_argument("--list", action="store_true", help="list every signal with its truth")
    args = ap.parse_args(argv)
    series, sites = load(args.work)
    scan = run_scan(series, sites)
    r = score(scan, sites)
    print(f"{r['signals']} signals, {r['true']} true: precision {r['precision']:.2f}, recall {r['recall']:.2f} "
          f"({len(sites)} sites)")  # fmt: skip
    if args.list:
        lab = label(scan, sites)
        info = {s["ods"]: s for s in sites}
        with pd.option_context("display.width", 250, "display.max_rows", 500, "display.max_columns", 20):
            lab["uncovered"] = [info[s]["uncovered"] for s in lab["site_code"]]
            lab["scale"] = [info[s]["scale"] for s in lab["site_code"]]
            lab["type"] = [info[s]["trust_type"][:5] for s in lab["site_code"]]
            print(lab[["site_code", "type", "scale", "measure_code", "first_month", "months", "direction",
                       "size_pct", "ongoing", "true", "uncovered"]].to_string())  # fmt: skip
    return r


if __name__ == "__main__":
    main()
