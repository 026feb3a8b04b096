"""What every chart of the report shares: value domains, tick values, a linear scale and the
formatting of an SVG coordinate."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.report.format import as_float


def coord(v: float) -> str:
    return f"{v:.1f}"


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, v = [], first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    return ticks


@dataclass
class Linear:
    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, v: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (v - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)


def value_domain(values: Iterable[Any], *, nonnegative: bool, at_most_one: bool, pad: float = 0.06) -> tuple[float, float]:
    vals = [v for v in (as_float(x) for x in values) if v is not None and math.isfinite(v)]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    span = hi - lo or (abs(hi) * 0.1 or 1.0)
    lo, hi = lo - span * pad, hi + span * pad
    if nonnegative:
        lo = max(lo, 0.0)
    if at_most_one:
        hi = min(hi, 1.0)
    if hi <= lo:
        hi = lo + span
    return lo, hi
