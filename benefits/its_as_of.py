"""The ITS refitted as of one month: the level and slope change, the effect at that month and its
evidence, and the cumulative benefit to date (benefits.cumulative)."""

from __future__ import annotations

import math

import numpy as np

from benefits.cumulative import Z95, cumulative_benefit
from benefits.its import LOG_LINK
from benefits.its_plan import ItsPlan
from benefits.register import Benefit
from benefits.specs import MeasureSpec
from benefits.status import effect_evidence

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
    """The ITS columns of the row as of row m, and the fit (columns, coefficients, covariance),
    None when the model is not fitted."""
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
    out.update(
        its_autocorrelation_p=ljung_box_p(_residuals(plan, m, cols, beta)),
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
        out.update(_extended_slope(plan, m, cols, log_link))
    eb = float(g @ beta)
    ese = float(np.sqrt(max(g @ cov @ g, 0.0)))
    out["effect_latest"], out["effect_latest_low"], out["effect_latest_high"] = effect(eb, ese, log_link)
    evidence = effect_evidence(out["effect_latest_low"], out["effect_latest_high"], 1.0 if log_link else 0.0, sign)
    out["effect_evidence"] = evidence
    out.update(cumulative_benefit(plan, m, cols, beta, cov, disp, sign, benefit, evidence))
    unit = benefit.valuation.unit if benefit.valuation else (measure.numerator or "units of the measure's numerator")
    out["benefit_unit"] = unit if plan.counts else "value-months of the measure"
    return out, (cols, beta, cov)


def _residuals(plan: ItsPlan, m: int, cols: list[int], beta: np.ndarray) -> np.ndarray:
    """Pearson residuals of the fit (plain ones for values)."""
    rows_fit = plan.rows_at(m)
    eta = plan.X[rows_fit][:, cols] @ beta
    if plan.counts:
        mu = np.exp(eta + plan.log_off[rows_fit])
        return (plan.y[rows_fit] - mu) / np.sqrt(np.maximum(mu, 1e-12))
    return plan.y[rows_fit] - eta


def _extended_slope(plan: ItsPlan, m: int, cols: list[int], log_link: bool) -> dict:
    """Reported only: is the effect still growing or fading? The primary (step) model
    gives the effect and the cumulative benefit."""
    at = cols.index(2) + 1
    ext = cols[:at] + [3] + cols[at:]
    try:
        b2, c2, _ = plan.fit(m, ext)
        js = ext.index(3)
        sv, sv_lo, sv_hi = effect(b2[js], math.sqrt(max(c2[js, js], 0.0)), log_link)
        return {"slope_change": sv, "slope_change_low": sv_lo, "slope_change_high": sv_hi}
    except (np.linalg.LinAlgError, ValueError):
        return {}
