"""A benefit's status in a month, and the reason in words a trust board understands.

The decision table (first row that applies wins; docs/benefits.md has the same table):

| # | when | status |
|---|---|---|
| 1 | fewer than `min_baseline_points` baseline months, or fewer than `min_post_points` months since go-live | insufficient_data |
| 2 | the measure has no improvement direction | not_yet_evident |
| 3 | a count measure with fewer than `min_baseline_events` events in the fitted months before go-live | insufficient_data |
| 4 | the interrupted time series (ITS) cannot be fitted (too few months, or no events before or after go-live) | insufficient_data |
| 5 | the ITS effect at the latest month is harmful, its 95% CI excluding no change | disbenefit |
| 6 | the ITS effect is beneficial, its 95% CI excluding no change, for `sustained_months` consecutive months to date; the target met by the mean of the current process (or no target set); and the latest month has at least one event (count measures) | realised |
| 7 | the ITS effect is beneficial, its 95% CI excluding no change, but row 6 does not hold yet | emerging |
| 8 | the target is met by the current process, but the ITS cannot tell the change from what was expected without it | target_met_unattributed |
| 9 | otherwise | not_yet_evident |

The ITS decides because it is the estimate of the change attributable to go-live: it models the
trend and season that were under way before go-live, which the SPC chart (limits from the
baseline mean) does not. The SPC signal is reported beside it in the reason, so a reader sees
both; where they disagree the reason says which way and why.

A status is published only once it holds (`hold`): the `status` column changes to a new status
after the table above has given it for `persistence_months` consecutive months; until then the
previous status stays and the reason says what is pending. `status_signal` is the table's
verdict for the month alone.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from benefits.spc import signal_text

STATUSES = ("realised", "emerging", "target_met_unattributed", "not_yet_evident", "disbenefit", "insufficient_data")
EVIDENCE = ("better", "worse", "none")


@dataclass(frozen=True)
class StatusRules:
    min_baseline_points: int = 12
    min_post_points: int = 3
    sustained_months: int = 6
    # A rate from fewer events than this in the baseline is too unstable to judge change against.
    min_baseline_events: int = 20
    persistence_months: int = 3


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
    its_effect: float | None = None  # ITS effect at the latest month; None when the ITS could not be fitted
    its_low: float | None = None
    its_high: float | None = None
    its_scale: str | None = None  # rate_ratio or difference
    its_note: str | None = None  # why there is no ITS effect
    evidence_streak: int = 0  # consecutive as-of months to this one with a beneficial effect, CI excluding no change
    baseline_events: float | None = None  # count measures: events in the fitted months before go-live
    latest_events: float | None = None  # count measures: events in the latest month

    @property
    def its_null(self) -> float:
        return 1.0 if self.its_scale == "rate_ratio" else 0.0

    @property
    def evidence(self) -> str | None:
        return effect_evidence(self.its_low, self.its_high, self.its_null, self.sign)


def effect_evidence(low: float | None, high: float | None, null: float, sign: int) -> str | None:
    """'better' or 'worse' when the 95% CI excludes no change in that direction, 'none' when it
    includes it, None without an estimate (or without an improvement direction)."""
    if sign == 0 or low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None
    if low > null:
        return "better" if sign > 0 else "worse"
    if high < null:
        return "better" if sign < 0 else "worse"
    return "none"


def effect_words(est: float, lo: float, hi: float, scale: str | None) -> str:
    """An ITS effect as a board reads it: '36% lower than expected without the change (95% CI 30% to 41% lower)'."""
    if scale == "rate_ratio":
        def pct(r: float) -> str:
            return f"{abs(1 - r) * 100:.0f}% {'lower' if r < 1 else 'higher'}"
    else:
        def pct(r: float) -> str:
            return f"{fmt(abs(r))} {'lower' if r < 0 else 'higher'}"
    return f"{pct(est)} than expected without the change (95% CI {pct(lo)} to {pct(hi)})"


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


def _spc_words(x: StatusInputs) -> str:
    """The SPC view beside the ITS, and why they may differ."""
    signal = signal_text(x.latest_rule, x.latest_side)
    if x.concern_streak > 0:
        text = f"SPC: special-cause concern against the baseline mean for {_months(x.concern_streak)} ({signal})"
    elif x.improvement_streak > 0:
        text = f"SPC: special-cause improvement against the baseline mean for {_months(x.improvement_streak)} ({signal})"
    else:
        text = f"SPC: common-cause variation in {month(x.as_of)}"
        if x.improvement_months:
            text += f" ({_months(x.improvement_months)} of special-cause improvement since go-live)"
        return text
    evidence = x.evidence
    if (evidence == "better" and x.concern_streak) or (evidence == "worse" and x.improvement_streak) or (
        evidence == "none" and (x.concern_streak or x.improvement_streak)
    ):
        text += "; the SPC chart compares with the baseline mean, the ITS with the trend and season expected without the change"
    return text


def assess(x: StatusInputs, rules: StatusRules = StatusRules()) -> tuple[str, str, str]:
    """(status, reason, reason without single-month values) for one benefit in one month, from
    the decision table alone (before `hold`).

    The third form is for published (suppressed) marts, where a month may be withheld: it gives no
    figure of the data (no month's value, no mean or sum over months), as any of them may cover a
    withheld month; the ITS effect, a model estimate, stays.
    """
    if x.baseline_points < rules.min_baseline_points:
        return "insufficient_data", *_same(
            f"only {_months(x.baseline_points)} of baseline data; SPC limits need at least {rules.min_baseline_points}"
        )
    if x.post_points < rules.min_post_points:
        return "insufficient_data", *_same(
            f"only {_months(x.post_points)} of data since go-live in {month(x.go_live)}; at least "
            f"{rules.min_post_points} are needed to judge a change"
        )
    spc = _spc_words(x)
    if x.sign == 0:
        return "not_yet_evident", *_same(
            f"the measure has no improvement direction, so change is not judged as benefit or disbenefit; {spc}"
        )
    if x.baseline_events is not None and x.baseline_events < rules.min_baseline_events:
        need = f"at least {rules.min_baseline_events} are needed for a stable rate; {spc}"
        return ("insufficient_data", f"only {fmt(x.baseline_events)} events in the baseline months fitted; {need}",
                f"fewer than {rules.min_baseline_events} events in the baseline months fitted; {need}")
    if x.evidence is None:
        return "insufficient_data", *_same(
            f"the effect of the change cannot be estimated yet ({x.its_note or 'not enough months after go-live'}); {spc}"
        )
    return _judged(x, rules, spc)


def _same(text: str) -> tuple[str, str]:
    return text, text


def _target_part(x: StatusInputs, show: bool) -> str:
    """The target in words; its figures only when `show` (not in the published reason)."""
    if x.target is None:
        return "no target set"
    met = "met" if x.target_met else "not yet met"
    figures = f" (average {fmt(x.current_mean)} since {month(x.current_since)}; latest {fmt(x.latest_value)})"
    text = f"target {fmt(x.target)} {met}" + (figures if show else f" (judged on the average since {month(x.current_since)})")
    if not x.target_met and x.target_month and x.as_of >= x.target_month:
        text += f"; target date {month(x.target_month)} has passed"
    return text


def _judged(x: StatusInputs, rules: StatusRules, spc: str) -> tuple[str, str, str]:
    """Rows 5 to 9 of the decision table: the ITS effect is estimated."""
    evidence = x.evidence
    its = f"ITS: {effect_words(x.its_effect, x.its_low, x.its_high, x.its_scale)}"
    if evidence == "worse":
        return "disbenefit", *_same(f"{its}, worse in the planned direction; {spc}")
    if evidence == "better":
        return _beneficial(x, rules, its, spc)
    if x.target is not None and x.target_met:
        r = tuple(
            f"{_target_part(x, s)}, but the change cannot be told from what was expected without it; {its}; {spc}"
            for s in (True, False)
        )
        return "target_met_unattributed", *r
    r = tuple(
        f"{its}: no change beyond what was expected without it yet"
        + (f"; {_target_part(x, s)}" if x.target is not None else "")
        + f"; {spc}"
        for s in (True, False)
    )
    return "not_yet_evident", *r


def _beneficial(x: StatusInputs, rules: StatusRules, its: str, spc: str) -> tuple[str, str, str]:
    """Rows 6 and 7: realised once sustained, the target met and the latest month has events."""
    zero = x.latest_events is not None and not x.latest_events > 0
    sustained = x.evidence_streak >= rules.sustained_months
    met = x.target is None or bool(x.target_met)
    if sustained and met and not zero:
        r = tuple(f"{its} for {_months(x.evidence_streak)}; {_target_part(x, s)}; {spc}" for s in (True, False))
        return "realised", *r
    waiting = []
    if not sustained:
        waiting.append(f"realised once shown for {rules.sustained_months} months ({_months(x.evidence_streak)} so far)")
    if zero:
        waiting.append(f"no events in {month(x.as_of)}, which is not counted as evidence")
    r = tuple(f"{its}; {_target_part(x, s)}; {'; '.join(waiting) or 'target not yet met'}; {spc}" for s in (True, False))
    return "emerging", *r


def hold(signals: list[str], months: int) -> list[tuple[str, int]]:
    """The published status of each month: it changes only once a new verdict has held for
    `months` consecutive months. Returns (status, months the pending verdict has held so far,
    0 when nothing is pending)."""
    out: list[tuple[str, int]] = []
    current: str | None = None
    run = 0
    for i, s in enumerate(signals):
        run = run + 1 if i and s == signals[i - 1] else 1
        if current is None or s == current:
            current = s
            out.append((s, 0))
        elif run >= months:
            current = s
            out.append((s, 0))
        else:
            out.append((current, run))
    return out


def held_reason(status: str, signal: str, run: int, months: int, reason: str) -> str:
    """The reason of a month whose verdict differs from the published status."""
    if not run:
        return reason
    pending = signal.replace("_", " ")
    return f"stays {status.replace('_', ' ')} until '{pending}' holds for {_months(months)} ({run} so far): {reason}"
