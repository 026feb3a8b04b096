"""One benefit's measure series: its months, the benefit's landmarks in them (baseline, go-live,
end of ramp-in) and its two SPC charts (see benefits.evaluate)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benefits import spc as S
from benefits.months import Maturity, add_months, clean_series, month_index
from benefits.register import Benefit
from benefits.specs import EngineSettings, MeasureSpec


@dataclass
class BenefitSeries:
    benefit: Benefit
    site_code: str
    measure: MeasureSpec
    settings: EngineSettings
    direction: str
    sign: int
    months: list[dt.date]
    y: np.ndarray
    num: np.ndarray
    den: np.ndarray
    mi: np.ndarray  # month_index of each month
    go: int  # month_index of go-live
    ramp_end: int  # ... of the end of ramp-in
    b0: int  # ... of the baseline's first month
    b1: int  # ... of its last month
    g_idx: int  # first row at or after go-live
    r_idx: int  # first row at or after the end of ramp-in
    maturity: Maturity
    n_base: int  # baseline months (warm-up left out)
    baseline_mean: float
    target: float | None
    chart_b: S.Chart  # evidence chart: limits from the baseline, extended
    chart_r: S.Chart  # rebased chart: new limits per phase
    group_r: np.ndarray  # the rebased chart's groups

    @property
    def n(self) -> int:
        return len(self.months)


def benefit_series(
    series: pd.DataFrame, benefit: Benefit, site_code: str, measure: MeasureSpec, settings: EngineSettings
) -> BenefitSeries:
    direction = (benefit.direction.value if benefit.direction else measure.direction) or "neutral"
    sign = S.direction_sign(direction)
    months, y, num, den = clean_series(series)
    mi = np.array([month_index(m) for m in months], dtype=np.int64)
    go, ramp_end = month_index(benefit.go_live), month_index(add_months(benefit.go_live, benefit.ramp_months))
    b0, b1 = month_index(benefit.baseline.start), month_index(benefit.baseline.end)
    maturity = Maturity(months, measure)
    in_base = (mi >= b0) & (mi <= b1) & ~maturity.warm_up
    n_base = int(in_base.sum())
    group_b = (mi >= b0).astype(np.int64)
    chart_b = S.xmr(y, group=group_b, in_limits=in_base | (mi < b0), improvement=sign, screen_outliers=settings.screen_outliers)
    group_r = (mi >= b0).astype(np.int64) + (mi >= go) + ((mi >= ramp_end) if benefit.ramp_months else 0)
    chart_r = S.xmr(y, group=group_r, improvement=sign, screen_outliers=settings.screen_outliers)
    return BenefitSeries(
        benefit, site_code, measure, settings, direction, sign, months, y, num, den, mi, go, ramp_end, b0, b1,
        g_idx=int(np.searchsorted(mi, go)), r_idx=int(np.searchsorted(mi, ramp_end)), maturity=maturity,
        n_base=n_base, baseline_mean=float(y[in_base].mean()) if n_base else np.nan,
        target=benefit.target.value if benefit.target else None,
        chart_b=chart_b, chart_r=chart_r, group_r=group_r,
    )  # fmt: skip
