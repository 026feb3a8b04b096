"""Evaluate a benefit against its measure's monthly series, as of each month since go-live.

For one benefit this gives
* `fact_benefit` rows: what a board paper would have said at the end of each month since
  go-live, using only data up to that month (SPC signal, assurance, ITS effect refitted on the
  data to date, cumulative benefit and its value, status and reason);
* `fact_benefit_spc` rows: the chart as of the latest month, one row per month of the series.

Two SPC views of the same series (see docs/benefits.md):
* the evidence chart: centre line and limits from the baseline period, extended past go-live
  (NHSRplotthedots' `fix_after_n_points` on the baseline). Special causes after go-live are
  change against the baseline; variation, status and the timeline use it.
* the rebased chart: rebased at the baseline start, at go-live and at the end of ramp-in
  (NHSRplotthedots' `rebase`). Its latest group is the process since go-live; assurance
  against the target uses its limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benefits import spc as S
from benefits.its_as_of import its_as_of as _its_as_of
from benefits.its_as_of import ljung_box_p
from benefits.its_plan import Comparator
from benefits.its_plan import ItsPlan as _ItsPlan
from benefits.months import Maturity, add_months, month_index
from benefits.months import clean_series as _clean_series
from benefits.register import Benefit
from benefits.spc_rows import spc_rows as _spc_rows
from benefits.specs import DEFAULT_SETTINGS, EngineSettings, MeasureSpec
from benefits.status import StatusInputs, assess, fmt, hold, held_reason
from benefits.tables import FACT_BENEFIT, FACT_BENEFIT_SPC

FACT_BENEFIT_COLUMNS: dict[str, str] = FACT_BENEFIT.types
FACT_BENEFIT_SPC_COLUMNS: dict[str, str] = FACT_BENEFIT_SPC.types

__all__ = [
    "DEFAULT_SETTINGS", "FACT_BENEFIT_COLUMNS", "FACT_BENEFIT_SPC_COLUMNS", "Comparator", "EngineSettings", "Evaluation",
    "Maturity", "MeasureSpec", "add_months", "describe", "evaluate_benefit", "fact_frame", "ljung_box_p", "month_index",
    "spc_frame",
]  # fmt: skip



@dataclass
class Evaluation:
    """One benefit's rows. Kept as records / column arrays so the engine can build one data frame
    for hundreds of benefits; `fact` and `spc` give this benefit's as data frames."""

    fact_records: list[dict]  # FACT_BENEFIT columns plus private `_` columns for publishing
    spc_columns: dict[str, np.ndarray | list]  # FACT_BENEFIT_SPC columns
    warnings: list[str] = field(default_factory=list)

    @property
    def fact(self) -> pd.DataFrame:
        return fact_frame(self.fact_records)

    @property
    def spc(self) -> pd.DataFrame:
        return spc_frame([self.spc_columns])


FACT_PRIVATE = ["_public_reason", "_latest_numerator", "_latest_denominator"]


def fact_frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=[*FACT_BENEFIT_COLUMNS, *FACT_PRIVATE])


def spc_frame(parts: list[dict]) -> pd.DataFrame:
    parts = [p for p in parts if p and len(p["month"])]
    if not parts:
        return pd.DataFrame(columns=list(FACT_BENEFIT_SPC_COLUMNS))
    cols = {}
    for c in FACT_BENEFIT_SPC_COLUMNS:
        cols[c] = np.concatenate([np.asarray(p[c], dtype=object if isinstance(p[c], list) else None) for p in parts])
    return pd.DataFrame(cols, columns=list(FACT_BENEFIT_SPC_COLUMNS))



def _row_base(benefit: Benefit, site_code: str, direction: str) -> dict:
    v = benefit.valuation
    return {
        "site_code": site_code,
        "benefit_id": benefit.id,
        "title": benefit.title,
        "project": benefit.project,
        "measure_code": benefit.measure,
        "scope": benefit.scope,
        "kind": benefit.kind,
        "category": benefit.category.value,
        "owner": benefit.owner,
        "go_live_month": benefit.go_live,
        "ramp_months": benefit.ramp_months,
        "baseline_start": benefit.baseline.start,
        "baseline_end": benefit.baseline.end,
        "improvement_direction": direction,
        "target_value": benefit.target.value if benefit.target else np.nan,
        "target_month": benefit.target.date if benefit.target else None,
        "valuation_type": v.type if v else None,
        "gbp_per_unit": v.gbp_per_unit if v else np.nan,
        "valuation_source": v.source if v else None,
    }



def evaluate_benefit(
    series: pd.DataFrame,
    benefit: Benefit,
    site_code: str,
    measure: MeasureSpec | str,
    settings: EngineSettings = DEFAULT_SETTINGS,
    *,
    comparator: Comparator | None = None,
) -> Evaluation:
    """`series` has one row per month (month, value, and numerator/denominator for ITS).

    `comparator`, when given, is the same measure summed over sites without this change: the ITS
    then controls for it (a controlled interrupted time series).

    `measure` is the measure's spec, or just its improvement direction. A benefit whose
    measure has no data since go-live yields one row (as of the latest month, or go-live when
    there is no data), so it is never silently absent from the marts.
    """
    if isinstance(measure, str):
        measure = MeasureSpec(code=benefit.measure, direction=measure, family="none")
    direction = (benefit.direction.value if benefit.direction else measure.direction) or "neutral"
    sign = S.direction_sign(direction)
    st = settings
    months, y, num, den = _clean_series(series)
    n = len(months)
    mi = np.array([month_index(m) for m in months], dtype=np.int64)
    go, ramp_end = month_index(benefit.go_live), month_index(add_months(benefit.go_live, benefit.ramp_months))
    b0, b1 = month_index(benefit.baseline.start), month_index(benefit.baseline.end)
    g_idx = int(np.searchsorted(mi, go))
    r_idx = int(np.searchsorted(mi, ramp_end))
    maturity = Maturity(months, measure)
    in_base = (mi >= b0) & (mi <= b1) & ~maturity.warm_up
    n_base = int(in_base.sum())
    baseline_mean = float(y[in_base].mean()) if n_base else np.nan
    target = benefit.target.value if benefit.target else None
    base = _row_base(benefit, site_code, direction)
    warnings: list[str] = []
    if 0 < n_base < st.short_group:
        warnings.append(f"{site_code} {benefit.id}: baseline limits from {n_base} points (trial limits)")

    # Evidence chart: limits from the baseline, extended. Rebased chart: new limits per phase.
    group_b = (mi >= b0).astype(np.int64)
    chart_b = S.xmr(y, group=group_b, in_limits=in_base | (mi < b0), improvement=sign, screen_outliers=st.screen_outliers)
    group_r = (mi >= b0).astype(np.int64) + (mi >= go) + ((mi >= ramp_end) if benefit.ramp_months else 0)
    chart_r = S.xmr(y, group=group_r, improvement=sign, screen_outliers=st.screen_outliers)

    use = comparator if (benefit.analysis is None or benefit.analysis.comparator is not False) else None
    plan = _ItsPlan(months, y, num, den, benefit, measure, g_idx, r_idx, st, maturity, use)
    baseline_events = plan.baseline_events()
    evidence_streak = 0
    rows_out: list[dict] = []
    as_of_rows = np.arange(g_idx, n) if g_idx < n else np.arange(n - 1, n) if n else np.zeros(0, dtype=np.int64)
    final_fit = None
    zeros = np.zeros(len(as_of_rows), dtype=np.int64)
    imp_streak, con_streak, imp_months, con_months, latest_rule, latest_side = (zeros,) * 6
    if g_idx < n and n_base:
        rule_m, side_m, a = S.label_as_of(chart_b, as_of_rows)
        P = side_m[:, g_idx - a :].astype(np.int64) * sign
        K = np.arange(len(as_of_rows))[:, None]
        J = np.arange(P.shape[1])[None, :]
        valid = J <= K
        imp, con = (P > 0) & valid, (P < 0) & valid
        imp_streak = K[:, 0] - np.where(~imp & valid, J, -1).max(axis=1)
        con_streak = K[:, 0] - np.where(~con & valid, J, -1).max(axis=1)
        imp_months, con_months = imp.sum(axis=1), con.sum(axis=1)
        latest_rule = rule_m[np.arange(len(as_of_rows)), as_of_rows - a]
        latest_side = side_m[np.arange(len(as_of_rows)), as_of_rows - a]

    if not len(as_of_rows):  # no data at all
        row = {**base, "as_of_month": benefit.go_live, "is_latest": True, "baseline_months": 0,
               "months_since_go_live": 0, "post_go_live_months": 0, "status": "insufficient_data",
               "status_signal": "insufficient_data",
               "status_reason": "no data for this measure", "_public_reason": "no data for this measure"}  # fmt: skip
        return Evaluation([row], {}, warnings)

    for k, m in enumerate(as_of_rows):
        as_of = months[m]
        post_points = max(0, int(m - g_idx + 1))
        latest = float(y[m])
        # The current process: the latest rebased group as of this month.
        start = r_idx if m >= r_idx else (g_idx if m >= g_idx else int(np.searchsorted(group_r, group_r[m])))
        cur_mean, cur_amr = S._group_limits(y[start : m + 1], np.ones(m + 1 - start, bool), st.screen_outliers)
        cur_lpl, cur_upl = cur_mean - S.LIMIT * cur_amr, cur_mean + S.LIMIT * cur_amr
        # The target is judged on the current process's mean, not on one noisy month.
        target_met = None
        if target is not None and sign != 0 and m >= g_idx:
            target_met = bool(cur_mean >= target) if sign > 0 else bool(cur_mean <= target)
        point_type = S.point_type(np.array([latest_side[k]]), sign)[0] if m >= g_idx else None
        inputs = StatusInputs(
            as_of=as_of, go_live=benefit.go_live, baseline_points=n_base, post_points=post_points if m >= g_idx else 0,
            sign=sign, baseline_mean=baseline_mean, latest_value=latest, latest_month=as_of,
            latest_rule=int(latest_rule[k]), latest_side=int(latest_side[k]),
            improvement_streak=int(imp_streak[k]), concern_streak=int(con_streak[k]),
            improvement_months=int(imp_months[k]), concern_months=int(con_months[k]),
            target=target, target_month=benefit.target.date if benefit.target else None, target_met=target_met,
            current_mean=cur_mean, current_since=months[start],
            baseline_events=baseline_events, latest_events=float(num[m]) if plan.counts else None,
        )  # fmt: skip
        its_row, its_fit = _its_as_of(plan, m, sign, benefit, measure)
        if m == n - 1:
            final_fit = its_fit
        if its_fit is not None:
            inputs.its_effect = its_row["effect_latest"]
            inputs.its_low, inputs.its_high = its_row["effect_latest_low"], its_row["effect_latest_high"]
            inputs.its_scale = its_row["its_effect_scale"]
            inputs.its_benefit = its_row.get("cumulative_benefit")
            inputs.its_benefit_low = its_row.get("cumulative_benefit_low")
            inputs.its_benefit_high = its_row.get("cumulative_benefit_high")
        elif its_row.get("its_model"):
            inputs.its_note = its_row["its_model"]
        evidence_streak = evidence_streak + 1 if inputs.evidence == "better" else 0
        inputs.evidence_streak = evidence_streak
        status, reason, public = assess(inputs, st.status)
        if status == "insufficient_data" and its_row.get("value_evidenced_gbp"):
            # Too little data to judge (e.g. too few baseline events): nothing counts as evidenced.
            its_row = {**its_row, "value_evidenced_gbp": 0.0}
        if status == "insufficient_data" and its_row.get("disbenefit_cost_gbp"):
            its_row = {**its_row, "disbenefit_cost_gbp": 0.0}
        row = {
            **base,
            "as_of_month": as_of,
            "is_latest": bool(m == n - 1),
            "baseline_months": n_base,
            "months_since_go_live": int(month_index(as_of) - go),
            "post_go_live_months": post_points if m >= g_idx else 0,
            "baseline_mean": baseline_mean,
            "baseline_lpl": float(chart_b.lpl[m]) if n_base else np.nan,
            "baseline_upl": float(chart_b.upl[m]) if n_base else np.nan,
            "latest_value": latest,
            "latest_suppressed": False,
            "latest_provisional": bool(maturity.immature_at(m)[m]),
            "change_abs": latest - baseline_mean,
            "change_pct": 100.0 * (latest - baseline_mean) / baseline_mean if baseline_mean else np.nan,
            "target_met": target_met,
            "variation": point_type if n_base else None,
            "assurance": S.assurance(target, cur_lpl, cur_upl, sign) if m >= g_idx else None,
            "latest_rule": S.RULES[int(latest_rule[k])],
            "improvement_streak": int(imp_streak[k]),
            "concern_streak": int(con_streak[k]),
            "improvement_months": int(imp_months[k]),
            "concern_months": int(con_months[k]),
            "current_mean": cur_mean,
            "current_lpl": cur_lpl,
            "current_upl": cur_upl,
            "status_signal": status,
            "status": status,
            "status_reason": reason,
            "_public_reason": public,
            "_latest_numerator": num[m],
            "_latest_denominator": den[m],
            **its_row,
        }
        rows_out.append(row)
    _hold_statuses(rows_out, st.status.persistence_months)
    spc_rows = _spc_rows(site_code, benefit, direction, months, y, num, den, mi, chart_b, chart_r, plan, final_fit, st,
                         go, ramp_end, b0, b1, target)  # fmt: skip
    spc_rows["provisional"] = maturity.immature_at(n - 1) if n else np.zeros(0, bool)
    return Evaluation(rows_out, spc_rows, warnings)


def _hold_statuses(rows: list[dict], months: int) -> None:
    """Publish a status only once it has held (benefits.status.hold); the month's own verdict
    stays in `status_signal`."""
    held = hold([r["status_signal"] for r in rows], months)
    for r, (status, run) in zip(rows, held):
        r["status"] = status
        r["status_reason"] = held_reason(status, r["status_signal"], run, months, r["status_reason"])
        r["_public_reason"] = held_reason(status, r["status_signal"], run, months, r["_public_reason"])



def describe(fact_row: pd.Series) -> str:
    """One benefit-month in a sentence (for logs and notebooks)."""
    parts = [f"{fact_row['benefit_id']} as of {fact_row['as_of_month']:%b %Y}: {fact_row['status']} ({fact_row['status_reason']})"]
    if pd.notna(fact_row.get("level_change")):
        parts.append(
            f"level change {fmt(fact_row['level_change'])} ({fmt(fact_row['level_change_low'])} to {fmt(fact_row['level_change_high'])})"
        )
    return "; ".join(parts)
