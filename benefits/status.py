"""A benefit's status in a month, and the reason in words a trust board understands.

| status | when |
|---|---|
| insufficient_data | fewer than `min_baseline_points` baseline months, or fewer than `min_post_points` months since go-live |
| disbenefit | the latest month is a special-cause concern against the baseline limits (confirmed by the ITS) |
| realised | special-cause improvement for at least `sustained_months` consecutive months to date (confirmed by the ITS), and the target met by the mean of the current process (or no target set) |
| emerging | the latest month is a special-cause improvement (confirmed by the ITS), but not yet sustained or the target not yet met |
| not_yet_evident | otherwise (including measures with no improvement direction) |

"Confirmed by the ITS": once the interrupted time series can be fitted, a special cause counts
only when the ITS effect to date (level and slope change, with trend and seasonality in the
model) points the same way with its 95% confidence interval excluding no change. SPC compares
with the baseline mean, so a seasonal low or a trend that was already under way before go-live
shows as special cause too; the ITS separates those from a change at go-live.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from benefits.spc import signal_text

STATUSES = ("realised", "emerging", "not_yet_evident", "disbenefit", "insufficient_data")


@dataclass(frozen=True)
class StatusRules:
    min_baseline_points: int = 12
    min_post_points: int = 3
    sustained_months: int = 6


@dataclass
class StatusInputs:
    as_of: dt.date
    go_live: dt.date
    baseline_points: int
    post_points: int
    sign: int  # +1 higher is better, -1 lower is better, 0 neutral
    baseline_mean: float
    latest_value: float
    latest_month: dt.date | None
    latest_rule: int
    latest_side: int
    improvement_streak: int
    concern_streak: int
    improvement_months: int
    concern_months: int
    target: float | None
    target_month: dt.date | None
    target_met: bool | None  # judged on current_mean
    current_mean: float = float("nan")  # mean of the current process (since go-live, or since ramp-in ended)
    current_since: dt.date | None = None
    its_effect: float | None = None  # ITS effect to date; None when the ITS could not be fitted yet
    its_low: float | None = None
    its_high: float | None = None
    its_scale: str | None = None  # rate_ratio or difference
    its_benefit: float | None = None  # cumulative benefit since go-live (oriented: > 0 is better)
    its_benefit_low: float | None = None
    its_benefit_high: float | None = None
    its_note: str | None = None  # why there is no ITS effect

    @property
    def its_null(self) -> float:
        return 1.0 if self.its_scale == "rate_ratio" else 0.0

    def its_confirms(self, better: bool) -> bool | None:
        """Is the cumulative benefit since go-live better (or worse) than the counterfactual, CI excluding 0?"""
        lo, hi = self.its_benefit_low, self.its_benefit_high
        if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
            return None
        return lo > 0 if better else hi < 0


def effect_words(est: float, lo: float, hi: float, scale: str | None) -> str:
    """An ITS effect as a board reads it: '36% lower than expected without the change (95% CI 30% to 41% lower)'."""
    if scale == "rate_ratio":
        def pct(r: float) -> str:
            return f"{abs(1 - r) * 100:.0f}% {'lower' if r < 1 else 'higher'}"

        head = f"{pct(est)} than expected without the change"
    else:
        def pct(r: float) -> str:
            return f"{fmt(abs(r))} {'lower' if r < 0 else 'higher'}"

        head = f"{pct(est)} than expected without the change"
    return f"{head} (95% CI {pct(lo)} to {pct(hi)})"


def fmt(v: float | None) -> str:
    """A number as a board paper would print it."""
    if v is None or not math.isfinite(v):
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def month(d: dt.date | None) -> str:
    return d.strftime("%b %Y") if d else "n/a"


def _months(n: int) -> str:
    return f"{n} month" if n == 1 else f"{n} months"


def assess(x: StatusInputs, rules: StatusRules = StatusRules()) -> tuple[str, str, str]:
    """(status, reason, reason without single-month values) for one benefit in one month.

    The third form is for published (suppressed) marts, where a month's value may be withheld.
    """

    def latest(show: bool) -> str:
        return f"latest {fmt(x.latest_value)}" if show else "latest month withheld"

    def target_part(show: bool) -> str:
        if x.target is None:
            return "no target set"
        met = "met" if x.target_met else "not yet met"
        text = f"target {fmt(x.target)} {met} (average {fmt(x.current_mean)} since {month(x.current_since)}; {latest(show)})"
        if not x.target_met and x.target_month and x.as_of >= x.target_month:
            text += f"; target date {month(x.target_month)} has passed"
        return text

    def both(build) -> tuple[str, str]:
        return build(True), build(False)

    if x.baseline_points < rules.min_baseline_points:
        text = (
            f"only {_months(x.baseline_points)} of baseline data; SPC limits need at least "
            f"{rules.min_baseline_points}"
        )
        return "insufficient_data", text, text
    if x.post_points < rules.min_post_points:
        text = (
            f"only {_months(x.post_points)} of data since go-live in {month(x.go_live)}; at least "
            f"{rules.min_post_points} are needed to judge a change"
        )
        return "insufficient_data", text, text
    signal = signal_text(x.latest_rule, x.latest_side)
    if x.sign == 0:
        text = "the measure has no improvement direction, so change is not judged as benefit or disbenefit"
        if signal:
            text += f"; the latest month is special-cause variation ({signal})"
        return "not_yet_evident", text, text
    its = (
        f"ITS: {effect_words(x.its_effect, x.its_low, x.its_high, x.its_scale)}"
        if x.its_effect is not None and x.its_low is not None and math.isfinite(x.its_low)
        else f"ITS: {x.its_note or 'not enough months after go-live yet'}"
    )
    if x.concern_streak > 0:
        head = f"special-cause concern for {_months(x.concern_streak)} to {month(x.as_of)} ({signal})"
        if x.its_confirms(better=False) is False:
            text = f"{head}, but not beyond the trend and seasonal pattern expected without the change; {its}"
            return "not_yet_evident", text, text
        r = both(lambda show: f"{head}; {latest(show)} against a baseline mean of {fmt(x.baseline_mean)}; {its}")
        return "disbenefit", *r
    if x.improvement_streak > 0:
        head = f"special-cause improvement for {_months(x.improvement_streak)} to {month(x.as_of)} ({signal})"
        if x.its_confirms(better=True) is False:
            text = f"{head}, but not beyond the trend and seasonal pattern expected without the change; {its}"
            return "not_yet_evident", text, text
        sustained = x.improvement_streak >= rules.sustained_months
        met = x.target is None or bool(x.target_met)
        if sustained and met:
            return "realised", *both(lambda show: f"{head}; {target_part(show)}; {its}")
        tail = "" if sustained else f"; realised once sustained for {rules.sustained_months} months"
        return "emerging", *both(lambda show: f"{head}; {target_part(show)}{tail}; {its}")
    r = both(
        lambda show: (
            f"no special-cause improvement in {month(x.as_of)} "
            + (f"({latest(show)}, baseline mean {fmt(x.baseline_mean)})" if show else f"(baseline mean {fmt(x.baseline_mean)})")
            + (
                f"; {_months(x.improvement_months)} of special-cause improvement since go-live"
                if x.improvement_months
                else ""
            )
            + (f"; {target_part(show)}" if x.target is not None else "")
        )
    )
    return "not_yet_evident", *r
