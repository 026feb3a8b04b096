"""Synthetic sites for the benefits engine: month-level series from the simulator's rate model.

`build_measure_monthly` draws every national measure for N sites (the six simulated measures
from `simulate_measure_series`, A&E 4-hour performance and bed days from simple binomial and
Poisson draws) with known effects at each site's go-live, and `site_configs` gives the
matching SiteConfig objects with their benefit registers. The benchmark uses them too.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipeline.config.sites import SiteConfig
from pipeline.marts.build import measure_lookup
from pipeline.simulator import simulate_measure_series

START = dt.date(2016, 4, 1)


def months_from(start: dt.date, n: int) -> list[dt.date]:
    return [dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1) for i in range(n)]


def site_plan(i: int, n_months: int) -> dict:
    """Deterministic per-site effects: go-live month, ramp and rate ratios (1.0 = no effect)."""
    rng = np.random.default_rng(1000 + i)
    go = int(rng.integers(18, max(19, n_months - 12)))
    return {
        "ods": f"S{i:03d}",
        "go_live_index": go,
        "ramp": int(rng.integers(1, 5)),
        "omitted": 0.7 if i % 3 else 1.0,  # every third site: no effect
        "med_incidents": 0.8 if i % 2 else 1.0,
        "los": 0.92 if i % 4 == 1 else 1.0,
    }


def build_measure_monthly(n_sites: int, n_months: int = 60, scale: float = 0.2) -> pd.DataFrame:
    months = months_from(START, n_months)
    multipliers = {code: m.multiplier for code, m in measure_lookup().items()}
    frames = []
    for i in range(1, n_sites + 1):
        p = site_plan(i, n_months)
        go_live = months[p["go_live_index"]]
        effects = {
            "omitted_critical_doses_rate": p["omitted"],
            "medication_incidents_per_1000_bed_days": p["med_incidents"],
            "mean_los_emergency_days": p["los"],
        }
        for measure in (
            "omitted_critical_doses_rate",
            "delayed_critical_doses_rate",
            "medication_incidents_per_1000_bed_days",
            "patient_id_incidents_per_1000_bed_days",
            "mean_los_emergency_days",
            "emergency_readmission_30d_rate",
        ):
            df = simulate_measure_series(
                measure, months, rate_ratio=effects.get(measure, 1.0), go_live=go_live,
                ramp_months=p["ramp"], scale=scale, seed=i,
            )  # fmt: skip
            frames.append(df.assign(site_code=p["ods"], measure_code=measure)[["site_code", "measure_code", "month", "numerator", "denominator"]])
        rng = np.random.default_rng(50_000 + i)
        att = rng.poisson(9000 * scale * 5, n_months)
        frames.append(
            pd.DataFrame({"site_code": p["ods"], "measure_code": "ae_4h_performance", "month": months,
                          "numerator": rng.binomial(att, 0.88), "denominator": att})  # fmt: skip
        )
        beds = rng.poisson(40000 * scale, n_months)
        frames.append(
            pd.DataFrame({"site_code": p["ods"], "measure_code": "bed_days", "month": months,
                          "numerator": beds, "denominator": np.nan})  # fmt: skip
        )
    out = pd.concat(frames, ignore_index=True)
    out["numerator"] = out["numerator"].astype(float)
    out["denominator"] = out["denominator"].astype(float)
    mult = out["measure_code"].map(multipliers).fillna(1.0)
    out["value"] = np.where(
        out["measure_code"] == "bed_days",
        out["numerator"],
        np.where(out["denominator"] > 0, out["numerator"] * mult / out["denominator"], np.nan),
    )
    return out


def site_configs(n_sites: int, n_months: int = 60) -> list[SiteConfig]:
    months = months_from(START, n_months)
    sites = []
    for i in range(1, n_sites + 1):
        p = site_plan(i, n_months)
        go = months[p["go_live_index"]]
        base = {"start": months[0].isoformat()[:7], "end": months[p["go_live_index"] - 1].isoformat()[:7]}
        benefits = [
            {
                "id": f"{p['ods']}-EPMA", "title": "Fewer omitted critical doses", "project": "Closed-loop ePMA",
                "measure": "omitted_critical_doses_rate", "go_live": go.isoformat()[:7], "ramp_months": p["ramp"],
                "baseline": base, "target": {"value": 0.06}, "scope": "national",
                "valuation": {"type": "non_cash_releasing", "gbp_per_unit": 25.0, "unit": "omission avoided", "source": "illustrative"},
            },
            {
                "id": f"{p['ods']}-MEDINC", "title": "Fewer medication incidents", "project": "ePMA",
                "measure": "medication_incidents_per_1000_bed_days", "go_live": go.isoformat()[:7],
                "ramp_months": p["ramp"], "baseline": base, "scope": "national",
                "valuation": {"type": "non_cash_releasing", "gbp_per_unit": 1200.0, "unit": "incident avoided", "source": "illustrative"},
            },
            {
                "id": f"{p['ods']}-LOS", "title": "Shorter emergency stays", "project": "e-Observations",
                "measure": "mean_los_emergency_days", "go_live": go.isoformat()[:7], "ramp_months": p["ramp"],
                "baseline": base, "scope": "local", "category": "resource_sustainability",
                "valuation": {"type": "cash_releasing", "gbp_per_unit": 345.0, "unit": "bed day saved", "source": "illustrative"},
            },
        ]  # fmt: skip
        sites.append(
            SiteConfig(ods_code=p["ods"], name=f"Synthetic trust {i}", trust_type="acute", region="Test", benefits=benefits)
        )
    return sites
