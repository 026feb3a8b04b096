"""The ITS refitted as of one month: the effect, its evidence and the cumulative benefit to date."""

from __future__ import annotations

import math

import numpy as np

from benefits.its import LOG_LINK, total_with_ci
from benefits.its_plan import ItsPlan
from benefits.register import Benefit
from benefits.specs import MeasureSpec
from benefits.status import effect_evidence

Z95 = 1.959963984540054


LJUNG_BOX_LAGS = 6


def ljung_box_p(resid: np.ndarray, lags: int = LJUNG_BOX_LAGS) -> float:
    """Ljung-Box test of residual autocorrelation up to `lags` (even), p-value.

    The chi-square tail for an even number of degrees of freedom has a closed form, so the engine
    needs no scipy (importing scipy.stats costs every run about half a second)."""
    r = np.asarray(resid, dtype=float)
    n = len(r)
    if n <= lags + 2 or not np.isfinite(r).all():
        return float("nan")
    r = r - r.mean()
    denom = float(r @ r)
    if denom <= 0:
        return float("nan")
    q = n * (n + 2) * sum(float(r[k:] @ r[:-k]) ** 2 / denom**2 / (n - k) for k in range(1, lags + 1))
    half = q / 2
    term, total = 1.0, 1.0
    for i in range(1, lags // 2):
        term *= half / i
        total += term
    return float(min(1.0, math.exp(-half) * total))


def effect(b: float, se: float, log_link: bool) -> tuple[float, float, float]:
    lo, hi = b - Z95 * se, b + Z95 * se
    if not log_link:
        return b, lo, hi
    with np.errstate(over="ignore"):
        return tuple(float(v) for v in np.exp([b, lo, hi]))



def its_as_of(plan: ItsPlan, m: int, sign: int, benefit: Benefit, measure: MeasureSpec) -> tuple[dict, tuple | None]:
    out: dict = {"its_effect_scale": "rate_ratio" if plan.counts else "difference"}
    choice = plan.columns(m) if plan.n else None
    if choice is None:
        out["its_effect_scale"] = None
        return out, None
    cols, K, slope, extended = choice
    try:
        beta, cov, disp = plan.fit(m, cols)
    except (np.linalg.LinAlgError, ValueError) as e:
        return {"its_effect_scale": None, "its_model": f"not estimable: {e}"}, None
    log_link = plan.counts and plan.family in LOG_LINK
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    il = cols.index(2)
    lv, lv_lo, lv_hi = effect(beta[il], se[il], log_link)
    p_level = float(math.erfc(abs(beta[il] / se[il]) / math.sqrt(2))) if se[il] > 0 else np.nan
    rows_fit = plan.rows_at(m)
    eta = plan.X[rows_fit][:, cols] @ beta
    if plan.counts:
        mu = np.exp(eta + plan.log_off[rows_fit])
        resid = (plan.y[rows_fit] - mu) / np.sqrt(np.maximum(mu, 1e-12))
    else:
        resid = plan.y[rows_fit] - eta
    out.update(
        its_autocorrelation_p=ljung_box_p(resid),
        its_model=plan.model_text(K, slope, extended, trend=1 in cols),
        its_points_pre=plan.points(m)[0],
        its_points_post=plan.points(m)[1],
        level_change=lv, level_change_low=lv_lo, level_change_high=lv_hi, level_change_p=p_level,
        its_dispersion=disp,
    )  # fmt: skip
    g = np.zeros(len(cols))
    g[il] = 1.0
    if slope:
        js = cols.index(3)
        sv, sv_lo, sv_hi = effect(beta[js], se[js], log_link)
        out.update(slope_change=sv, slope_change_low=sv_lo, slope_change_high=sv_hi)
        g[js] = plan.t[m] - plan.t0
    elif extended:
        # Reported only: is the effect still growing or fading? The primary (step) model
        # gives the effect and the cumulative benefit.
        at = cols.index(2) + 1
        ext = cols[:at] + [3] + cols[at:]
        try:
            b2, c2, _ = plan.fit(m, ext)
            js = ext.index(3)
            sv, sv_lo, sv_hi = effect(b2[js], math.sqrt(max(c2[js, js], 0.0)), log_link)
            out.update(slope_change=sv, slope_change_low=sv_lo, slope_change_high=sv_hi)
        except (np.linalg.LinAlgError, ValueError):
            pass
    eb = float(g @ beta)
    ese = float(np.sqrt(max(g @ cov @ g, 0.0)))
    out["effect_latest"], out["effect_latest_low"], out["effect_latest_high"] = effect(eb, ese, log_link)
    evidence = effect_evidence(out["effect_latest_low"], out["effect_latest_high"], 1.0 if log_link else 0.0, sign)
    out["effect_evidence"] = evidence

    # Cumulative benefit from go-live (ramp-in included) to this month.
    # Provisional months are left out on both sides: their observed counts are not complete yet.
    rows = (plan.idx >= plan.g_idx) & (plan.idx <= m) & plan.valid & ~plan.maturity.immature_at(m)
    observed = float(plan.y[rows].sum())
    fam = plan.family if plan.counts else "gaussian"
    # A prediction interval: events avoided compares with what would have been counted, which
    # varies month to month around the model's expectation (the validity harness found the
    # expectation's interval alone covering the realised total 86% of the time).
    cf, cf_lo, cf_hi = total_with_ci(plan.Xc[rows][:, cols], beta, cov, plan.log_off[rows], fam, Z95, dispersion=disp)
    out.update(observed_since_go_live=observed, counterfactual_since_go_live=cf, counterfactual_low=cf_lo, counterfactual_high=cf_hi)
    if sign != 0:
        if sign < 0:
            benefit_units, lo, hi = cf - observed, cf_lo - observed, cf_hi - observed
        else:
            benefit_units, lo, hi = observed - cf, observed - cf_hi, observed - cf_lo
        out.update(cumulative_benefit=benefit_units, cumulative_benefit_low=lo, cumulative_benefit_high=hi)
        v = benefit.valuation
        if v is not None:
            value = benefit_units * v.gbp_per_unit
            out.update(
                value_gbp=value,
                value_gbp_low=lo * v.gbp_per_unit,
                value_gbp_high=hi * v.gbp_per_unit,
                value_cash_releasing_gbp=value if v.type == "cash_releasing" else 0.0,
                value_non_cash_releasing_gbp=value if v.type == "non_cash_releasing" else 0.0,
                # Headlines add these: a value counts only where the effect is evidenced, and a
                # harm is a cost, never a negative value.
                value_evidenced_gbp=max(value, 0.0) if evidence == "better" else 0.0,
                disbenefit_cost_gbp=max(-value, 0.0) if evidence == "worse" else 0.0,
            )
    unit = benefit.valuation.unit if benefit.valuation else (measure.numerator or "units of the measure's numerator")
    out["benefit_unit"] = unit if plan.counts else "value-months of the measure"
    return out, (cols, beta, cov)

