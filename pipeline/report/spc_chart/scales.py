"""The SPC chart's frame: its months in order, their values, and the x and y scales every layer of
the chart draws with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.report.chart_scales import Linear, value_domain
from pipeline.report.format import UnitFormat, as_date, as_float, is_missing

W, H = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 62, 124, 30, 46
PLOT_WIDTH, PLOT_HEIGHT = W - LEFT - RIGHT, H - TOP - BOTTOM
DOMAIN_COLUMNS = ("rebased_mean", "rebased_upl", "rebased_lpl", "mean", "upl", "lpl", "its_counterfactual")


def num(row: dict, key: str) -> float | None:
    return as_float(row.get(key))


def flag(v: Any) -> bool:
    return False if is_missing(v) else bool(v)


@dataclass
class SpcFrame:
    """One chart's rows (by month) and scales: `x[i]` is the centre of month i, `x_edge(i)` its left edge."""

    rows: list[dict]
    values: list[float | None]
    fmt: UnitFormat
    lo: float
    hi: float
    target: float | None
    go_live: dt.date | None
    months: list[dt.date | None] = field(init=False)
    step: float = field(init=False)
    x: list[float] = field(init=False)
    y: Linear = field(init=False)
    index: dict[dt.date | None, int] = field(init=False)

    def __post_init__(self) -> None:
        self.months = [as_date(r["month"]) for r in self.rows]
        self.step = PLOT_WIDTH / max(self.n, 1)
        self.x = [LEFT + self.step * (i + 0.5) for i in range(self.n)]
        self.y = Linear(self.lo, self.hi, H - BOTTOM, TOP)
        self.index = {m: i for i, m in enumerate(self.months)}

    @property
    def n(self) -> int:
        return len(self.rows)

    def x_edge(self, i: int) -> float:
        return LEFT + self.step * i


def spc_frame(points: pd.DataFrame, benefit: dict, fmt: UnitFormat) -> SpcFrame:
    rows = points.sort_values("month").to_dict("records")
    values = [num(r, "value") for r in rows]
    target = num(benefit, "target_value")
    lo, hi = _y_domain(rows, values, target, fmt)
    return SpcFrame(rows, values, fmt, lo, hi, target, as_date(benefit.get("go_live_month")))


def _y_domain(rows: list[dict], values: list[float | None], target: float | None, fmt: UnitFormat) -> tuple[float, float]:
    """Every value, limit, counterfactual and the target fit on the chart."""
    observed = [v for v in values if v is not None]
    nonneg = all(v >= 0 for v in observed)
    domain_values: list[Any] = list(observed)
    for r in rows:
        if r.get("segment") == "pre_baseline":
            continue  # a few months before the baseline: their own limits mean little, so not drawn
        for k in DOMAIN_COLUMNS:
            domain_values.append(r.get(k))
    if target is not None:
        domain_values.append(target)
    return value_domain(
        domain_values, nonnegative=nonneg, at_most_one=fmt.unit == "proportion" and all(v <= 1 for v in observed)
    )
