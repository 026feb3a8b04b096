"""A benefit's `fact_benefit` rows: what a board paper would have said at the end of each month
since go-live, from the data to that month (SPC streaks, current process, ITS refit, status)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from benefits import spc as S
from benefits.benefit_series import BenefitSeries
from benefits.its_as_of import its_as_of
from benefits.its_plan import ItsPlan
from benefits.months import month_index
from benefits.status import StatusInputs, assess, hold, held_reason


class Streaks(NamedTuple):
    """The evidence chart's labels since go-live as they stood at each as-of month (row k)."""

    improvement: np.ndarray  # consecutive months of special-cause improvement to the as-of month
    concern: np.ndarray
    improvement_months: np.ndarray  # months of it since go-live
    concern_months: np.ndarray
    latest_rule: np.ndarray
    latest_side: np.ndarray


class Current(NamedTuple):
    """The current process as of a month: the latest rebased group, and the target judged on its mean."""

    start: int
    mean: float
    lpl: float
    upl: float
    target_met: bool | None


def streaks(s: BenefitSeries, as_of_rows: np.ndarray) -> Streaks:
    zeros = np.zeros(len(as_of_rows), dtype=np.int64)
    if not (s.g_idx < s.n and s.n_base):
        return Streaks(*(zeros,) * 6)
    rule_m, side_m, a = S.label_as_of(s.chart_b, as_of_rows)
    P = side_m[:, s.g_idx - a :].astype(np.int64) * s.sign
    K = np.arange(len(as_of_rows))[:, None]
    J = np.arange(P.shape[1])[None, :]
    valid = J <= K
    imp, con = (P > 0) & valid, (P < 0) & valid
    imp_streak = K[:, 0] - np.where(~imp & valid, J, -1).max(axis=1)
    con_streak = K[:, 0] - np.where(~con & valid, J, -1).max(axis=1)
    latest_rule = rule_m[np.arange(len(as_of_rows)), as_of_rows - a]
    latest_side = side_m[np.arange(len(as_of_rows)), as_of_rows - a]
    return Streaks(imp_streak, con_streak, imp.sum(axis=1), con.sum(axis=1), latest_rule, latest_side)


def current_process(s: BenefitSeries, m: int) -> Current:
    start = s.r_idx if m >= s.r_idx else (s.g_idx if m >= s.g_idx else int(np.searchsorted(s.group_r, s.group_r[m])))
    mean, amr = S._group_limits(s.y[start : m + 1], np.ones(m + 1 - start, bool), s.settings.screen_outliers)
    # The target is judged on the current process's mean, not on one noisy month.
    target_met = None
    if s.target is not None and s.sign != 0 and m >= s.g_idx:
        target_met = bool(mean >= s.target) if s.sign > 0 else bool(mean <= s.target)
    return Current(start, mean, mean - S.LIMIT * amr, mean + S.LIMIT * amr, target_met)


def fact_rows(s: BenefitSeries, plan: ItsPlan, as_of_rows: np.ndarray, base: dict) -> tuple[list[dict], tuple | None]:
    """The rows as of each of `as_of_rows`, and the ITS fit as of the latest month (None if none)."""
    st, sk = s.settings, streaks(s, as_of_rows)
    baseline_events = plan.baseline_events()
    evidence_streak = 0
    final_fit = None
    rows_out: list[dict] = []
    for k, m in enumerate(as_of_rows):
        cur = current_process(s, m)
        inputs = _status_inputs(s, plan, m, sk, k, cur, baseline_events)
        its_row, its_fit = its_as_of(plan, m, s.sign, s.benefit, s.measure)
        if m == s.n - 1:
            final_fit = its_fit
        _add_its(inputs, its_row, its_fit)
        evidence_streak = evidence_streak + 1 if inputs.evidence == "better" else 0
        inputs.evidence_streak = evidence_streak
        verdict = assess(inputs, st.status)
        if verdict[0] == "insufficient_data" and its_row.get("value_evidenced_gbp"):
            # Too little data to judge (e.g. too few baseline events): nothing counts as evidenced.
            its_row = {**its_row, "value_evidenced_gbp": 0.0}
        if verdict[0] == "insufficient_data" and its_row.get("disbenefit_cost_gbp"):
            its_row = {**its_row, "disbenefit_cost_gbp": 0.0}
        rows_out.append(_row(s, base, m, sk, k, cur, verdict, its_row))
    hold_statuses(rows_out, st.status.persistence_months)
    return rows_out, final_fit


def _post_points(s: BenefitSeries, m: int) -> int:
    return max(0, int(m - s.g_idx + 1)) if m >= s.g_idx else 0


def _status_inputs(s: BenefitSeries, plan: ItsPlan, m: int, sk: Streaks, k: int, cur: Current, baseline_events) -> StatusInputs:
    benefit = s.benefit
    return StatusInputs(
        as_of=s.months[m], go_live=benefit.go_live, baseline_points=s.n_base, post_points=_post_points(s, m),
        sign=s.sign, baseline_mean=s.baseline_mean, latest_value=float(s.y[m]), latest_month=s.months[m],
        latest_rule=int(sk.latest_rule[k]), latest_side=int(sk.latest_side[k]),
        improvement_streak=int(sk.improvement[k]), concern_streak=int(sk.concern[k]),
        improvement_months=int(sk.improvement_months[k]), concern_months=int(sk.concern_months[k]),
        target=s.target, target_month=benefit.target.date if benefit.target else None, target_met=cur.target_met,
        current_mean=cur.mean, current_since=s.months[cur.start],
        baseline_events=baseline_events, latest_events=float(s.num[m]) if plan.counts else None,
    )  # fmt: skip


def _add_its(inputs: StatusInputs, its_row: dict, its_fit: tuple | None) -> None:
    if its_fit is not None:
        inputs.its_effect = its_row["effect_latest"]
        inputs.its_low, inputs.its_high = its_row["effect_latest_low"], its_row["effect_latest_high"]
        inputs.its_scale = its_row["its_effect_scale"]
        inputs.its_benefit = its_row.get("cumulative_benefit")
        inputs.its_benefit_low = its_row.get("cumulative_benefit_low")
        inputs.its_benefit_high = its_row.get("cumulative_benefit_high")
    elif its_row.get("its_model"):
        inputs.its_note = its_row["its_model"]


def _row(s: BenefitSeries, base: dict, m: int, sk: Streaks, k: int, cur: Current, verdict: tuple, its_row: dict) -> dict:
    status, reason, public = verdict
    as_of, latest, posted = s.months[m], float(s.y[m]), m >= s.g_idx
    point_type = S.point_type(np.array([sk.latest_side[k]]), s.sign)[0] if posted else None
    return {
        **base,
        "as_of_month": as_of,
        "is_latest": bool(m == s.n - 1),
        "baseline_months": s.n_base,
        "months_since_go_live": int(month_index(as_of) - s.go),
        "post_go_live_months": _post_points(s, m),
        "baseline_mean": s.baseline_mean,
        "baseline_lpl": float(s.chart_b.lpl[m]) if s.n_base else np.nan,
        "baseline_upl": float(s.chart_b.upl[m]) if s.n_base else np.nan,
        "latest_value": latest,
        "latest_suppressed": False,
        "latest_provisional": bool(s.maturity.immature_at(m)[m]),
        "change_abs": latest - s.baseline_mean,
        "change_pct": 100.0 * (latest - s.baseline_mean) / s.baseline_mean if s.baseline_mean else np.nan,
        "target_met": cur.target_met,
        "variation": point_type if s.n_base else None,
        "assurance": S.assurance(s.target, cur.lpl, cur.upl, s.sign) if posted else None,
        "latest_rule": S.RULES[int(sk.latest_rule[k])],
        "improvement_streak": int(sk.improvement[k]),
        "concern_streak": int(sk.concern[k]),
        "improvement_months": int(sk.improvement_months[k]),
        "concern_months": int(sk.concern_months[k]),
        "current_mean": cur.mean,
        "current_lpl": cur.lpl,
        "current_upl": cur.upl,
        "status_signal": status,
        "status": status,
        "status_reason": reason,
        "_public_reason": public,
        "_latest_numerator": s.num[m],
        "_latest_denominator": s.den[m],
        **its_row,
    }


def hold_statuses(rows: list[dict], months: int) -> None:
    """Publish a status only once it has held (benefits.status.hold); the month's own verdict
    stays in `status_signal`."""
    held = hold([r["status_signal"] for r in rows], months)
    for r, (status, run) in zip(rows, held):
        r["status"] = status
        r["status_reason"] = held_reason(status, r["status_signal"], run, months, r["status_reason"])
        r["_public_reason"] = held_reason(status, r["status_signal"], run, months, r["_public_reason"])
