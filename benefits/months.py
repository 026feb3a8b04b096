"""Month arithmetic, a measure's monthly series cleaned for the engine, and which of its months
are complete enough to estimate from."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from benefits.specs import MeasureSpec


def month_index(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def add_months(d: dt.date, k: int) -> dt.date:
    i = month_index(d) + k
    return dt.date(i // 12, i % 12 + 1, 1)


def clean_series(series: pd.DataFrame) -> tuple[list[dt.date], np.ndarray, np.ndarray, np.ndarray]:
    """Months (first days, ascending, unique) with a value, and their value, numerator, denominator."""
    n = len(series)
    months = series["month"].tolist() if n else []
    if months and not all(type(m) is dt.date for m in months):
        months = [d.date() for d in pd.to_datetime(pd.Series(months))]
    value = pd.to_numeric(series["value"], errors="coerce").to_numpy(dtype=float) if n else np.zeros(0)
    num = series["numerator"].to_numpy(dtype=float) if "numerator" in series.columns else np.full(n, np.nan)
    den = series["denominator"].to_numpy(dtype=float) if "denominator" in series.columns else np.full(n, np.nan)
    keep = ~np.isnan(value)
    mi = np.array([month_index(m) for m in months], dtype=np.int64)
    order = np.argsort(mi, kind="stable")
    order = order[keep[order]]
    # one row per month: the last one given wins
    last = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        last[:-1] = mi[order][1:] != mi[order][:-1]
    order = order[last]
    return [months[i] for i in order], value[order], num[order], den[order]


def _month_end_ordinals(months: list[dt.date]) -> np.ndarray:
    return np.array([add_months(m, 1).toordinal() - 1 for m in months], dtype=np.int64)


class Maturity:
    """Which months of a series are complete enough to estimate from (see MeasureSpec)."""

    def __init__(self, months: list[dt.date], measure: MeasureSpec):
        n = len(months)
        mi = np.array([month_index(m) for m in months], dtype=np.int64)
        self.warm_up = mi < (mi[0] + measure.warm_up_months) if n else np.zeros(0, bool)
        self.days = measure.mature_after_days
        self.end = _month_end_ordinals(months)

    def immature_at(self, m: int) -> np.ndarray:
        """Months not yet complete with data to the end of row m (warm-up months never are)."""
        late = (self.end + self.days > self.end[m]) if self.days else np.zeros(len(self.end), bool)
        return self.warm_up | late
