"""Validity harness: the whole chain (simulator -> `benefits run` -> marts) against simulated truth.

A calibration set of simulated trusts (acute and mental health, scales from 0.01 up), each with a
benefit on every effect measure the simulator can inject: step and ramped effects, no effect
(nulls), harmful effects (disbenefits), early and late go-lives, plus one injected effect per
site that no benefit covers (for the unplanned-change scan). The real `benefits run` builds an
embedded DuckDB warehouse from the simulated extracts; the figures are read from
`measures.fact_benefit_all` and `fact_unplanned_change_all` and compared with the simulator's
`ground_truth.json`.

    python bench/bench_validity.py                 # the calibration set; writes docs/validity.md
    python bench/bench_validity.py --quick         # 3 small sites; prints, writes nothing
    python bench/bench_validity.py --sites 24 --max-scale 0.5

Truth of a benefit: the injected rate ratio (at the latest month every ramp is over), 1 for a
null. Coverage: the 95% CI of `effect_latest` contains it. Bias: median of log(estimate/truth).
Status classes: improvement (ratio < 1 on these lower-is-better measures), none, harm (> 1).
Cumulative benefit: the 95% prediction interval of the ITS counterfactual total since go-live
(the cumulative benefit is that total minus the observed one) contains the simulator's
counterfactual count over the same months (its clean-row counts with the injected effect taken out); and the observed total the marts count equals the simulator's clean-row count.
Every coverage figure carries its Monte Carlo 95% interval (Wilson): with n benefits, a coverage
of 0.95 cannot be told from 0.93 or 0.97 until n is in the hundreds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.simulator.rates import days_in_month  # noqa: E402
from pipeline.simulator.spec import EFFECT_MEASURES as MEASURES  # noqa: E402  (every measure it can move)
START, END = "2016-04", "2019-09"  # 42 months
TEMPLATES = {"acute": "RF4", "mental_health": "RV5"}
GOALS = {"coverage": (0.93, 0.97), "bias": 0.02, "false_realised": 0.05, "scan_precision": 0.80}


def _month(i: int) -> str:
    y, m = divmod(2016 * 12 + 3 + i, 12)
    return f"{y}-{m + 1:02d}"


def plan(n_sites: int, seed: int, max_scale: float) -> list[dict]:
    """The calibration set: per site, its size, type and one benefit per measure with a truth."""
    gen = np.random.default_rng(seed)
    scales = np.geomspace(0.01, max_scale, num=max(n_sites, 2))[:n_sites]
    sites = []
    for i in range(n_sites):
        trust_type = "mental_health" if i % 4 == 3 else "acute"
        uncovered = MEASURES[int(gen.integers(len(MEASURES)))]
        benefits, effects = [], []
        for j, measure in enumerate(MEASURES):
            go = int(gen.choice([13, 16, 20, 24]))  # early and late go-lives (month index)
            kind = gen.choice(["improve", "improve", "null", "harm"])
            ratio = {"improve": float(gen.choice([0.6, 0.7, 0.8, 0.9])), "null": 1.0, "harm": float(gen.choice([1.15, 1.3]))}[kind]
            ramp = int(gen.choice([1, 1, 3, 6]))
            if measure == uncovered:
                # An effect no benefit covers: for the scan. Its benefit is left out.
                effects.append({"measure": measure, "go_live": _month(go), "rate_ratio": 0.7, "ramp_months": 1})
                continue
            if ratio != 1.0:
                effects.append({"measure": measure, "go_live": _month(go), "rate_ratio": ratio, "ramp_months": ramp})
            benefits.append({
                "id": f"B{j}", "measure": measure, "go_live": _month(go), "ramp_months": ramp if ratio != 1.0 else 3,
                "truth": ratio,
            })  # fmt: skip
        sites.append({
            "ods": f"V{i:02d}", "trust_type": trust_type, "scale": float(round(scales[i], 4)), "seed": int(7000 + i),
            "benefits": benefits, "effects": effects, "uncovered": uncovered,
        })  # fmt: skip
    return sites


def write_sites(sites: list[dict], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for s in sites:
        template = TEMPLATES[s["trust_type"]]
        cfg = yaml.safe_load((ROOT / "deploy" / "sites" / f"{template}.yaml").read_text())
        text = json.dumps(cfg["sources"]).replace(f"/simulated/{template}/", f"/simulated/{s['ods']}/")
        cfg.update(ods_code=s["ods"], name=f"Calibration trust {s['ods']}", sources=json.loads(text))
        cfg.pop("projects", None)  # the template's investments belong to its own benefits
        cfg["benefits"] = [
            {
                "id": f"{s['ods']}-{b['id']}", "title": f"{b['measure']} benefit", "project": "calibration",
                "measure": b["measure"], "go_live": b["go_live"], "ramp_months": b["ramp_months"],
                "baseline": {"start": START, "end": _prev(b["go_live"])}, "category": "safety_and_quality",
                "scope": "local", "owner": "validity harness",
            }
            for b in s["benefits"]
        ]  # fmt: skip
        cfg["simulation"] = {
            "ods_code": s["ods"], "trust_type": s["trust_type"], "seed": s["seed"], "scale": s["scale"],
            "start": START, "end": END, "flavour": "local_csv", "effects": s["effects"],
        }  # fmt: skip
        (folder / f"{s['ods']}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def _prev(month: str) -> str:
    y, m = (int(p) for p in month.split("-"))
    return f"{y - (m == 1)}-{(m - 2) % 12 + 1:02d}"


def run_pipeline(sites_dir: Path, home: Path, memory: str = "4GB") -> tuple[float, list[str]]:
    """Run `benefits run`; return its wall time and the sites that failed (left out of the figures)."""
    # DuckDB's default 1 GB limit is too small for the ePMA extract of a trust at scale >= 0.2
    # (measured: out of memory on a 30 MB block); the harness measures validity, not memory.
    env = {**os.environ, "BENEFITS_HOME": str(home), "BENEFITS_DUCKDB_MEMORY": memory}
    env.pop("BENEFITS_WAREHOUSE_URL", None)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from pipeline.cli import main; main()", "run", "--sites", str(sites_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    failed = sorted({line.split()[1].rstrip(":") for line in done.stdout.splitlines() if line.strip().startswith("site ")})
    if done.returncode != 0 and not failed:
        raise SystemExit(f"benefits run failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, failed


def collect(sites: list[dict], home: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    import duckdb

    con = duckdb.connect(str(home / "benefits.duckdb"), read_only=True)
    fact = con.execute(
        "select site_code, benefit_id, measure_code, as_of_month, is_latest, effect_latest, effect_latest_low, "
        "effect_latest_high, status, status_signal, cumulative_benefit_low, cumulative_benefit_high, go_live_month, "
        "observed_since_go_live, counterfactual_since_go_live, counterfactual_low, counterfactual_high "
        "from measures.fact_benefit_all order by site_code, benefit_id, as_of_month"
    ).df()
    scan = con.execute("select site_code, measure_code, first_month, direction from measures.fact_unplanned_change_all").df()
    con.close()
    truth, meta, gts = {}, {}, {}
    for s in sites:
        # Read the truth the simulator wrote, not the plan: what was injected is what counts.
        gt = gts[s["ods"]] = json.loads((home / "simulated" / s["ods"] / "ground_truth.json").read_text())
        injected = {e["measure"]: e["rate_ratio"] for e in gt["effects"]}
        for b in s["benefits"]:
            truth[(s["ods"], f"{s['ods']}-{b['id']}")] = injected.get(b["measure"], 1.0)
            meta[(s["ods"], f"{s['ods']}-{b['id']}")] = (s["scale"], s["trust_type"])
    fact["truth"] = [truth[(a, b)] for a, b in zip(fact["site_code"], fact["benefit_id"])]
    fact["scale"] = [meta[(a, b)][0] for a, b in zip(fact["site_code"], fact["benefit_id"])]
    fact["trust_type"] = [meta[(a, b)][1] for a, b in zip(fact["site_code"], fact["benefit_id"])]
    totals = [
        truth_totals(gts[r.site_code], r.measure_code, pd.Timestamp(r.go_live_month).date(), pd.Timestamp(r.as_of_month).date())
        if r.is_latest else (float("nan"), float("nan"))
        for r in fact.itertuples()
    ]  # fmt: skip
    fact["truth_counterfactual"] = [t[0] for t in totals]
    fact["truth_observed"] = [t[1] for t in totals]
    return fact, scan


def truth_totals(gt: dict, measure: str, go_live: dt.date, as_of: dt.date) -> tuple[float, float]:
    """The simulator's counterfactual total and its clean-row numerator total over the months the
    pipeline adds up for a cumulative benefit: go-live to `as_of`, provisional months left out.

    A month's counterfactual is its clean-row count with the injected effect taken out
    (`numerator_without_effect`: each row's count divided by the multiplier that acted on it, by
    admission month for a length of stay): the events that month would have had without the change,
    noise and all, which is what "events avoided" is measured against. It is read from the
    counts rather than from `expected_rate` because a measure's count and its rate can be
    defined on different cohorts (length of stay: rate by admission month, count by discharge
    month; incidents per bed day: bed days of clean spells), which shifts `denominator x
    expected_rate` from the counts by up to 3%."""
    from benefits.evaluate import MeasureSpec
    from pipeline.marts.build import measure_lookup

    spec = MeasureSpec.of(measure_lookup()[measure])
    cf = observed = 0.0
    for key, e in gt["measures"][measure].items():
        m = dt.date.fromisoformat(key + "-01")
        month_end, as_of_end = m.replace(day=days_in_month(m)), as_of.replace(day=days_in_month(as_of))
        if not go_live <= m <= as_of or month_end + dt.timedelta(days=spec.mature_after_days) > as_of_end:
            continue
        if e.get("numerator") is None or e.get("effect_multiplier") is None:
            return float("nan"), float("nan")
        # The simulator's own, where it has it: length of stay is shortened by admission month
        # but counted by discharge month, so numerator / multiplier credited the effect to the
        # spells admitted before go-live that left after it (+14% of a go-live month's days).
        cf += e.get("numerator_without_effect", e["numerator"] / e["effect_multiplier"])
        observed += e["numerator"]
    return cf, observed


def wilson(hits: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Monte Carlo 95% interval of a coverage estimated from n trials (Wilson score)."""
    if n == 0:
        return float("nan"), float("nan")
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _cov(value: float, n: int) -> str:
    lo, hi = wilson(value * n, n)
    return f"{value:.3f} ({lo:.2f}-{hi:.2f})"


def truth_class(r: float) -> str:
    return "improvement" if r < 1 else "harm" if r > 1 else "none"


def summarise(fact: pd.DataFrame, scan: pd.DataFrame, sites: list[dict]) -> dict:
    latest = fact[fact["is_latest"]].copy()
    est = latest.dropna(subset=["effect_latest_low", "effect_latest_high"])
    est = est.assign(
        covered=(est["effect_latest_low"] <= est["truth"]) & (est["truth"] <= est["effect_latest_high"]),
        log_err=np.log(est["effect_latest"] / est["truth"]),
        band=np.where(est["scale"] < 0.05, "small (< 0.05)", np.where(est["scale"] < 0.2, "medium (0.05-0.2)", "large (>= 0.2)")),
    )  # fmt: skip
    per_measure = est.groupby("measure_code").agg(
        n=("covered", "size"), coverage=("covered", "mean"), bias=("log_err", "median"),
        rmse=("log_err", lambda x: float(np.sqrt(np.mean(np.square(x))))),
    )  # fmt: skip
    per_band = est.groupby("band").agg(n=("covered", "size"), coverage=("covered", "mean"), bias=("log_err", "median"))
    latest["truth_class"] = latest["truth"].map(truth_class)
    confusion = pd.crosstab(latest["truth_class"], latest["status"])
    nulls = fact[fact["truth"] == 1.0]
    null_latest = nulls[nulls["is_latest"]]
    false_realised_latest = float((null_latest["status"] == "realised").mean()) if len(null_latest) else float("nan")
    ever = nulls.groupby(["site_code", "benefit_id"])["status"].apply(lambda s: (s == "realised").any())
    # Scan: an injected uncovered effect is found when a signal on its measure starts within 6 months of go-live.
    found = 0
    true_signals = 0
    for s in sites:
        eff = next(e for e in s["effects"] if e["measure"] == s["uncovered"])
        go = dt.date.fromisoformat(eff["go_live"] + "-01")
        mine = scan[(scan["site_code"] == s["ods"]) & (scan["measure_code"] == s["uncovered"])]
        near = mine[[abs((pd.Timestamp(m).year - go.year) * 12 + pd.Timestamp(m).month - go.month) <= 6 for m in mine["first_month"]]]
        found += bool(len(near))
        true_signals += len(near)
    precision = true_signals / len(scan) if len(scan) else float("nan")
    cum = latest.dropna(subset=["counterfactual_low", "counterfactual_high", "truth_counterfactual"])
    cum = cum.assign(
        covered=(cum["counterfactual_low"] <= cum["truth_counterfactual"]) & (cum["truth_counterfactual"] <= cum["counterfactual_high"]),
        log_err=np.log(cum["counterfactual_since_go_live"] / cum["truth_counterfactual"]),
        counted=np.isclose(cum["observed_since_go_live"], cum["truth_observed"], rtol=1e-9, atol=0.5),
    )  # fmt: skip
    cum_per_measure = cum.groupby("measure_code").agg(
        n=("covered", "size"), coverage=("covered", "mean"), bias=("log_err", "median"), counted=("counted", "mean"),
    )  # fmt: skip
    return {
        "cumulative": int(len(cum)), "cumulative_coverage": float(cum["covered"].mean()) if len(cum) else float("nan"),
        "cumulative_bias": float(cum["log_err"].median()) if len(cum) else float("nan"),
        "cumulative_counted": float(cum["counted"].mean()) if len(cum) else float("nan"),
        "cumulative_per_measure": cum_per_measure,
        "benefits": int(len(latest)), "estimated": int(len(est)), "coverage": float(est["covered"].mean()),
        "bias": float(est["log_err"].median()), "per_measure": per_measure, "per_band": per_band,
        "confusion": confusion, "null_benefits": int(len(null_latest)), "false_realised_latest": false_realised_latest,
        "false_realised_ever": float(ever.mean()) if len(ever) else float("nan"),
        "scan_signals": int(len(scan)), "scan_true": true_signals, "scan_precision": precision, "scan_recall": found / len(sites),
    }  # fmt: skip


def programme_calibration(replicates: int, seed: int) -> dict:
    """Coverage of the programme-level estimators (benefits/pooled.py) over simulated programmes:
    8 adopting sites with staggered go-lives and 3 that never adopt, one common rate ratio per
    programme with between-site spread (sd 0.05 on the log scale), omitted critical doses from the
    simulator's month-level model at scale 0.1; site effects from the engine's ITS."""
    from benefits.evaluate import MeasureSpec, evaluate_benefit
    from benefits.pooled import meta_analysis, staggered_effect
    from benefits.register import Benefit
    from pipeline.marts.build import measure_lookup
    from pipeline.simulator import simulate_measure_series

    measure = "omitted_critical_doses_rate"
    spec = MeasureSpec.of(measure_lookup()[measure])
    months = [dt.date(2016 + (3 + i) // 12, (3 + i) % 12 + 1, 1) for i in range(42)]
    gen = np.random.default_rng(seed)
    hits = {"meta": [], "staggered": []}
    est = {"meta": [], "staggered": []}
    width = {"meta": [], "staggered": []}
    t0 = time.perf_counter()
    for rep in range(replicates):
        truth = float(gen.choice([0.7, 0.8, 0.9]))
        rows, logs, ses = [], [], []
        for i, go_i in enumerate([13, 13, 16, 16, 20, 20, 24, 24, None, None, None]):
            ratio = truth * math.exp(gen.normal(0, 0.05)) if go_i is not None else 1.0
            go = months[go_i] if go_i is not None else months[-1]
            s = simulate_measure_series(measure, months, rate_ratio=ratio, go_live=go, ramp_months=1, scale=0.1,
                                        seed=int(seed * 1000 + rep * 20 + i))  # fmt: skip
            if go_i is None:
                s = simulate_measure_series(measure, months, rate_ratio=1.0, scale=0.1, seed=int(seed * 1000 + rep * 20 + i))
            s = s.assign(value=s["numerator"] / s["denominator"])
            if go_i is not None:
                b = Benefit(id="P", title="p", measure=measure, go_live=go, ramp_months=1,
                            baseline={"start": months[0], "end": months[go_i - 1]})  # fmt: skip
                last = evaluate_benefit(s, b, f"P{i}", spec).fact.iloc[-1]
                if last["effect_latest_low"] > 0:
                    logs.append(math.log(last["effect_latest"]))
                    ses.append((math.log(last["effect_latest_high"]) - math.log(last["effect_latest_low"])) / (2 * 1.959964))
            rows.append(s.assign(site=f"P{i}", go_live=pd.Timestamp(go) if go_i is not None else pd.NaT, ramp_months=1))
        panel = pd.concat(rows)
        panel["month"] = pd.to_datetime(panel["month"])
        for name, e in (("meta", meta_analysis(logs, ses)), ("staggered", staggered_effect(panel))):
            if not math.isfinite(e.rate_ratio):
                continue  # not estimable: counted in `replicates`, not in coverage
            hits[name].append(e.low <= truth <= e.high)
            est[name].append(math.log(e.rate_ratio / truth))
            width[name].append(math.log(e.high / e.low))
    return {
        "replicates": replicates, "seconds": time.perf_counter() - t0,
        **{f"{k}_coverage": float(np.mean(v)) for k, v in hits.items()},
        **{f"{k}_n": len(v) for k, v in hits.items()},
        **{f"{k}_width": float(np.median(v)) for k, v in width.items()},
        **{f"{k}_bias": float(np.median(v)) for k, v in est.items()},
    }  # fmt: skip


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def report(r: dict, sites: list[dict], seconds: float, args) -> str:
    lo, hi = GOALS["coverage"]
    lines = [
        "# Validity: the whole chain against simulated truth",
        "",
        "Written by `bench/bench_validity.py` (the real `benefits run` on simulated trusts; figures read from the",
        "marts and compared with the simulator's `ground_truth.json`). A small seeded version runs in the test",
        "suite (`tests/benefits/test_validity_harness.py`).",
        "",
        f"Run: {len(sites)} trusts ({sum(s['trust_type'] == 'acute' for s in sites)} acute, "
        f"{sum(s['trust_type'] == 'mental_health' for s in sites)} mental health), scales "
        f"{min(s['scale'] for s in sites)} to {max(s['scale'] for s in sites)}, {START} to {END}, seed {args.seed}; "
        f"{r['benefits']} benefits ({r['null_benefits']} nulls), {r['estimated']} with an ITS estimate at the latest "
        f"month; `benefits run` took {seconds:.0f} s on the 2-core reference machine.",
        "",
        "## Headline against the goals",
        "",
        "| figure | value | goal | |",
        "|---|---|---|---|",
        f"| coverage of the 95% CI of `effect_latest`, all measures (Monte Carlo 95% interval) | {_cov(r['coverage'], r['estimated'])} | {lo}-{hi} | {_met(lo <= r['coverage'] <= hi)} |",
        f"| coverage of the 95% prediction interval of the cumulative benefit ({r['cumulative']} benefits) | {_cov(r['cumulative_coverage'], r['cumulative'])} | {lo}-{hi} | {_met(lo <= r['cumulative_coverage'] <= hi)} |",
        f"| observed totals since go-live equal to the simulator's clean-row counts | {r['cumulative_counted']:.3f} | 1 | {_met(r['cumulative_counted'] == 1)} |",
        f"| median bias, log(estimate / truth) | {r['bias']:+.3f} | within +-{GOALS['bias']} | {_met(abs(r['bias']) < GOALS['bias'])} |",
        f"| 'realised' at the latest month under the null | {r['false_realised_latest']:.3f} | <= {GOALS['false_realised']} | {_met(r['false_realised_latest'] <= GOALS['false_realised'])} |",
        f"| 'realised' in any month under the null | {r['false_realised_ever']:.3f} | (reported) | |",
        f"| unplanned-change scan precision ({r['scan_signals']} signals) | {r['scan_precision']:.2f} | >= {GOALS['scan_precision']} | {_met(r['scan_precision'] >= GOALS['scan_precision'])} |",
        f"| unplanned-change scan recall (injected effects no benefit covers) | {r['scan_recall']:.2f} | (reported) | |",
        "",
        "## Per measure",
        "",
        "| measure | n | coverage (Monte Carlo 95%) | median bias | RMSE (log) | coverage goal | bias goal |",
        "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for m, row in r["per_measure"].iterrows():
        lines.append(
            f"| {m} | {int(row.n)} | {_cov(row.coverage, int(row.n))} | {row.bias:+.3f} | {row.rmse:.3f} | "
            f"{_met(lo <= row.coverage <= hi)} | {_met(abs(row.bias) < GOALS['bias'])} |"
        )
    lines += [
        "", "## Cumulative benefit since go-live, per measure", "",
        "The ITS counterfactual total since go-live (its 95% prediction interval) against the simulator's: the clean-row",
        "counts with the injected effect taken out, over the same months. Bias is the median of log(estimate / truth);",
        "counted is the share whose observed total equals the simulator's clean-row count.", "",
        "| measure | n | coverage (Monte Carlo 95%) | median bias | counted |", "|---|---|---|---|---|",
    ]  # fmt: skip
    for m, row in r["cumulative_per_measure"].iterrows():
        lines.append(f"| {m} | {int(row.n)} | {_cov(row.coverage, int(row.n))} | {row.bias:+.3f} | {row.counted:.2f} |")
    lines += ["", "## Per trust size", "", "| scale band | n | coverage | median bias |", "|---|---|---|---|"]
    for band, row in r["per_band"].iterrows():
        lines.append(f"| {band} | {int(row.n)} | {_cov(row.coverage, int(row.n))} | {row.bias:+.3f} |")
    lines += ["", "## Status at the latest month against the truth", "", "| truth | " + " | ".join(r["confusion"].columns) + " |",
              "|---|" + "---|" * len(r["confusion"].columns)]  # fmt: skip
    for cls, row in r["confusion"].iterrows():
        lines.append(f"| {cls} | " + " | ".join(str(int(v)) for v in row) + " |")
    p = r.get("programme")
    if p:
        lines += [
            "", "## Programme-level evidence (benefits/pooled.py)", "",
            f"{p['replicates']} simulated programmes (8 adopting sites with staggered go-lives, 3 that never adopt, a "
            "common rate ratio of 0.7, 0.8 or 0.9 with between-site spread, omitted critical doses at scale 0.1; site "
            f"effects from the engine's ITS); {p['seconds']:.0f} s.", "",
            "| estimator | coverage of the programme rate ratio (Monte Carlo 95%) | median bias (log) | median CI width (log) | goal |",
            "|---|---|---|---|---|",
            f"| random-effects meta-analysis | {_cov(p['meta_coverage'], p['meta_n'])} | {p['meta_bias']:+.3f} | {p['meta_width']:.3f} | {_met(lo <= p['meta_coverage'] <= hi)} |",
            f"| stacked difference-in-differences | {_cov(p['staggered_coverage'], p['staggered_n'])} | {p['staggered_bias']:+.3f} | {p['staggered_width']:.3f} | {_met(lo <= p['staggered_coverage'] <= hi)} |",
        ]  # fmt: skip
    lines += ["", args.notes.read_text().strip() if args.notes and args.notes.exists() else ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=24)
    ap.add_argument("--max-scale", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--quick", action="store_true", help="3 small sites; print only")
    ap.add_argument("--programmes", type=int, default=40, help="simulated programmes for the pooled estimators")
    ap.add_argument("--work", type=Path, default=None, help="keep the run here (default: a temporary folder)")
    ap.add_argument("--notes", type=Path, default=ROOT / "bench" / "validity_notes.md",
                    help="findings appended to docs/validity.md")  # fmt: skip
    ap.add_argument("--output", type=Path, default=ROOT / "docs" / "validity.md")
    args = ap.parse_args(argv)
    if args.quick:
        args.sites, args.max_scale, args.programmes = 3, 0.02, 3
    sites = plan(args.sites, args.seed, args.max_scale)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        write_sites(sites, work / "sites")
        seconds, failed = run_pipeline(work / "sites", work / "home")
        sites = [s for s in sites if s["ods"] not in failed]
        fact, scan = collect(sites, work / "home")
        fact = fact[fact["site_code"].isin({s["ods"] for s in sites})]
        scan = scan[scan["site_code"].isin({s["ods"] for s in sites})]
    r = summarise(fact, scan, sites)
    if args.programmes:
        r["programme"] = programme_calibration(args.programmes, args.seed % 1000)
    text = report(r, sites, seconds, args)
    if failed:
        text += f"\nSites whose run failed and are left out: {', '.join(failed)}.\n"
    print(text)
    if not args.quick:
        args.output.write_text(text)
        print(f"wrote {args.output}")
    return r


if __name__ == "__main__":
    main()
