"""A benefit's chart as of the latest month: its `fact_benefit_spc` columns, one row per month."""

from __future__ import annotations

import numpy as np

from benefits import spc as S
from benefits.benefit_series import BenefitSeries
from benefits.its_as_of import Z95
from benefits.its_plan import ItsPlan


def spc_rows(s: BenefitSeries, plan: ItsPlan, final_fit: tuple | None) -> dict:
    """The columns of `fact_benefit_spc`, `final_fit` giving the ITS columns (NaN without it)."""
    n, mi, benefit, chart_b, chart_r, st = s.n, s.mi, s.benefit, s.chart_b, s.chart_r, s.settings
    segment = np.where(
        mi < s.b0, "pre_baseline",
        np.where(mi <= s.b1, "baseline", np.where(mi < s.go, "pre_go_live", np.where(mi < s.ramp_end, "ramp_in", "post_go_live"))),
    )  # fmt: skip
    limit_points = np.bincount(chart_b.group, weights=chart_b.in_limits.astype(float)) if n else np.zeros(0)
    sizes_r = chart_r.group_sizes()
    in_fit, fitted, cf, cf_lo, cf_hi = _its_columns(s, plan, final_fit)
    return {
        "site_code": [s.site_code] * n,
        "benefit_id": [benefit.id] * n,
        "measure_code": [benefit.measure] * n,
        "month": s.months,
        "value": s.y,
        "numerator": s.num,
        "denominator": s.den,
        "suppressed": np.zeros(n, dtype=bool),
        "segment": segment,
        "spc_group": chart_b.group,
        "in_limits": chart_b.in_limits,
        "mean": chart_b.mean,
        "lpl": chart_b.lpl,
        "upl": chart_b.upl,
        "near_lpl": chart_b.near_lpl,
        "near_upl": chart_b.near_upl,
        "point_type": chart_b.point_type,
        "rule": chart_b.rule_name,
        "signal": [S.signal_text(r, side) for r, side in zip(chart_b.rule, chart_b.side)],
        "short_group_warning": limit_points[chart_b.group] < st.short_group if n else np.array([], bool),
        "rebased_group": chart_r.group,
        "rebased_mean": chart_r.mean,
        "rebased_lpl": chart_r.lpl,
        "rebased_upl": chart_r.upl,
        "rebased_near_lpl": chart_r.near_lpl,
        "rebased_near_upl": chart_r.near_upl,
        "rebased_point_type": chart_r.point_type,
        "rebased_rule": chart_r.rule_name,
        "rebased_short_group_warning": sizes_r[chart_r.group] < st.short_group if n else np.array([], bool),
        "target": np.full(n, np.nan if s.target is None else float(s.target)),
        "improvement_direction": [s.direction] * n,
        "its_in_fit": in_fit,
        "its_fitted": fitted,
        "its_counterfactual": cf,
        "its_counterfactual_low": cf_lo,
        "its_counterfactual_high": cf_hi,
    }


def _its_columns(s: BenefitSeries, plan: ItsPlan, final_fit: tuple | None):
    """Rows in the final fit, its fitted values and the counterfactual with its 95% interval."""
    n, mi = s.n, s.mi
    fitted = cf = cf_lo = cf_hi = np.full(n, np.nan)
    in_fit = np.zeros(n, dtype=bool)
    if final_fit is not None:
        cols, beta, cov = final_fit
        Xf = plan.X[:, cols]
        Xc = plan.Xc[:, cols]
        eta_f = Xf @ beta + plan.comp
        eta_c = Xc @ beta + plan.comp
        se_c = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", Xc, cov, Xc), 0, None))
        to_value = (lambda e: np.exp(e) * plan.value_factor) if plan.counts else (lambda e: e)  # noqa: E731
        window = mi >= s.b0
        post = mi >= s.go
        fitted = np.where(window, to_value(eta_f), np.nan)
        cf = np.where(post, to_value(eta_c), np.nan)
        cf_lo = np.where(post, to_value(eta_c - Z95 * se_c), np.nan)
        cf_hi = np.where(post, to_value(eta_c + Z95 * se_c), np.nan)
        in_fit = plan.fit_rows.copy()
    return in_fit, fitted, cf, cf_lo, cf_hi
