"""How numbers, months and money read in the report: one formatter per measure unit.

Every figure the report prints goes through here, so a card, a chart label and a table show a
value the same way, and the tests can tell how many decimals a printed figure carries.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

MISSING = "–"  # en dash: no value (not measured, not estimable); never used for suppressed cells
SUPPRESSED = "suppressed"


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def as_float(value: Any) -> float | None:
    if is_missing(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_date(value: Any) -> dt.date | None:
    if is_missing(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    try:
        return pd.Timestamp(str(value)).date()
    except (TypeError, ValueError):
        return None


def month_label(value: Any) -> str:
    d = as_date(value)
    return d.strftime("%b %Y") if d else MISSING


def day_label(value: Any) -> str:
    d = as_date(value)
    return f"{d.day} {d:%b %Y}" if d else MISSING


def month_key(value: Any) -> str:
    d = as_date(value)
    return d.strftime("%Y-%m") if d else ""


def count(value: Any) -> str:
    v = as_float(value)
    return MISSING if v is None else f"{v:,.0f}"


def _fixed(v: float, decimals: int) -> str:
    text = f"{v:,.{decimals}f}"
    return "0" if text.strip("-0.,") == "" and decimals == 0 else text


@dataclass(frozen=True)
class UnitFormat:
    """How one unit of measure prints: scale (x100 for a percentage), decimals and suffix."""

    unit: str
    scale: float = 1.0
    decimals: int = 2
    suffix: str = ""
    axis_suffix: str = ""

    def __call__(self, value: Any, decimals: int | None = None) -> str:
        v = as_float(value)
        if v is None:
            return MISSING
        return _fixed(v * self.scale, self.decimals if decimals is None else decimals) + self.suffix

    def delta(self, value: Any) -> str:
        """A change in the measure (signed); percentage points for a proportion."""
        v = as_float(value)
        if v is None:
            return MISSING
        sign = "+" if v > 0 else ("−" if v < 0 else "")
        text = _fixed(abs(v) * self.scale, self.decimals)
        suffix = " percentage points" if self.unit == "proportion" else self.suffix
        return f"{sign}{text}{suffix}"

    def axis(self, value: float, step: float) -> str:
        """Tick labels: just enough decimals to tell neighbouring ticks apart."""
        scaled_step = abs(step * self.scale) or 1.0
        decimals = max(0, -math.floor(math.log10(scaled_step)))
        while decimals < 6 and abs(round(scaled_step, decimals) - scaled_step) > scaled_step * 1e-6:
            decimals += 1
        return _fixed(value * self.scale, decimals) + self.axis_suffix


_UNITS = {
    "proportion": UnitFormat("proportion", scale=100.0, decimals=1, suffix="%", axis_suffix="%"),
    "per 1,000 bed days": UnitFormat("per 1,000 bed days", decimals=2),
    "days": UnitFormat("days", decimals=2, suffix=" days"),
    "bed days": UnitFormat("bed days", decimals=0),
}


def unit_format(unit: str | None) -> UnitFormat:
    return _UNITS.get((unit or "").strip(), UnitFormat(unit or "", decimals=2))


def gbp(value: Any) -> str:
    v = as_float(value)
    if v is None:
        return MISSING
    return ("−£" if v < 0 else "£") + f"{abs(v):,.0f}"


def signed_count(value: Any) -> str:
    v = as_float(value)
    if v is None:
        return MISSING
    return ("−" if v < 0 else "") + f"{abs(v):,.0f}"


def percent(value: Any, decimals: int = 0) -> str:
    """A share held as 0..1 (pass rate) as a percentage."""
    v = as_float(value)
    return MISSING if v is None else f"{v * 100:.{decimals}f}%"


def pct_change(value: Any, decimals: int = 1) -> str:
    """A change already held in percent (change_pct)."""
    v = as_float(value)
    if v is None:
        return MISSING
    sign = "+" if v > 0 else ("−" if v < 0 else "")
    return f"{sign}{abs(v):.{decimals}f}%"


def ratio(value: Any) -> str:
    v = as_float(value)
    return MISSING if v is None else f"{v:.2f}"


def ratio_words(value: Any) -> str:
    """A rate ratio as people say it: 0.77 -> '23% lower', 1.25 -> '25% higher'."""
    v = as_float(value)
    if v is None:
        return MISSING
    change = (v - 1.0) * 100.0
    if abs(change) < 0.5:
        return "no different"
    return f"{abs(change):.0f}% {'lower' if change < 0 else 'higher'}"


def p_value(value: Any) -> str:
    v = as_float(value)
    if v is None:
        return MISSING
    return "p < 0.001" if v < 0.001 else f"p = {v:.3f}"


def words(code: Any) -> str:
    """snake_case codes from the marts as words: special_cause_improvement -> special cause improvement."""
    if is_missing(code):
        return MISSING
    return str(code).replace("_", " ")
