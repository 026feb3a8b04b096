"""Evaluate a planned benefit against its measure's monthly series, as of each month since go-live.

The result is one row per benefit per as-of month (the `fact_benefit` grain): what a board
paper would have said about the benefit at the end of that month, using only data up to it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from benefits.register import Benefit

from benefits.tables import FACT_BENEFIT

FACT_BENEFIT_COLUMNS: dict[str, str] = FACT_BENEFIT.types


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + (b.month - a.month)


def evaluate_benefit(series: pd.DataFrame, benefit: Benefit, site_code: str, direction: str) -> pd.DataFrame:
    """`series` has one row per month (`month` as date, `value`); returns fact_benefit rows.

    Rows run from the go-live month to the latest month of data. A benefit whose measure has
    no data after go-live yields a single row as of the latest month, so it is never silently
    absent from the marts.
    """
    direction = (benefit.direction.value if benefit.direction else direction) or "neutral"
    s = series[["month", "value"]].dropna(subset=["value"]).sort_values("month")
    s = s.assign(month=pd.to_datetime(s["month"]).dt.date)
    baseline = s[(s["month"] >= benefit.baseline.start) & (s["month"] <= benefit.baseline.end)]
    baseline_mean = float(baseline["value"].mean()) if len(baseline) else np.nan
    after = s[s["month"] >= benefit.go_live]
    as_of_months = list(after["month"]) or ([s["month"].max()] if len(s) else [benefit.go_live])
    rows = []
    for as_of in as_of_months:
        upto = s[s["month"] <= as_of]
        latest = float(upto["value"].iloc[-1]) if len(upto) else np.nan
        change = latest - baseline_mean
        target_met = None
        if benefit.target is not None and not np.isnan(latest) and direction != "neutral":
            target_met = latest >= benefit.target.value if direction == "higher" else latest <= benefit.target.value
        if not len(baseline):
            status, reason = "insufficient_data", "no data in the baseline period"
        elif as_of < benefit.go_live or not len(after):
            status, reason = "insufficient_data", "no data since go-live"
        else:
            status, reason = None, None  # set by the statistical assessment
        rows.append(
            {
                "site_code": site_code,
                "benefit_id": benefit.id,
                "title": benefit.title,
                "project": benefit.project,
                "measure_code": benefit.measure,
                "scope": benefit.scope,
                "kind": benefit.kind,
                "category": benefit.category.value,
                "as_of_month": as_of,
                "go_live_month": benefit.go_live,
                "baseline_start": benefit.baseline.start,
                "baseline_end": benefit.baseline.end,
                "baseline_months": int(len(baseline)),
                "months_since_go_live": _months_between(benefit.go_live, as_of),
                "baseline_mean": baseline_mean,
                "latest_value": latest,
                "change_abs": change,
                "change_pct": (100.0 * change / baseline_mean) if baseline_mean not in (0.0,) and not np.isnan(baseline_mean) else np.nan,
                "improvement_direction": direction,
                "target_value": benefit.target.value if benefit.target else np.nan,
                "target_month": benefit.target.date if benefit.target else None,
                "target_met": target_met,
                "status": status,
                "status_reason": reason,
            }
        )
    return pd.DataFrame(rows, columns=list(FACT_BENEFIT_COLUMNS))
