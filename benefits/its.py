"""Interrupted time series: segmented regression at an intervention, with confidence intervals.

The model (Lopez Bernal, Cummins and Gasparrini, IJE 2017) for month t is

    g(E[y_t]) = log(offset_t) + b0 + b1 * t + b2 * post_t + b3 * (t - t0) * post_t
                + sum_k (s_k sin(2 pi k m_t / 12) + c_k cos(2 pi k m_t / 12))

with post_t = 1 from the intervention on, t0 the first fitted month after it (so b2 is the
level change there) and m_t the calendar month. Months in the ramp-in are left out of the fit
(the effect is still building), but the counterfactual covers them.

Families: `poisson` and `quasipoisson` (log link, Pearson chi2 / df scale) are fitted by a small
IRLS in numpy, because the benefits engine refits thousands of them (statsmodels' GLM gives the
same numbers, which the tests check, at about 20x the cost); `negbin` (NB2, dispersion
estimated), `binomial` / `quasibinomial` (logit link, the offset is the number of trials) and
`gaussian` (OLS with Newey-West errors) use statsmodels.

The effect scale follows the link: rate ratios for log links, odds ratios for the logit link,
differences for the identity link.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

FAMILIES = ("poisson", "quasipoisson", "negbin", "binomial", "quasibinomial", "gaussian")
LOG_LINK = ("poisson", "quasipoisson", "negbin")
PERIOD = 12


def effect_scale(family: str) -> str:
    if family in LOG_LINK:
        return "rate_ratio"
    if family in ("binomial", "quasibinomial"):
        return "odds_ratio"
    return "difference"


def design(
    t: np.ndarray,
    post: np.ndarray,
    t0: float,
    *,
    month_of_year: np.ndarray | None = None,
    seasonality: int = 0,
    slope_change: bool = True,
) -> tuple[np.ndarray, list[str]]:
    """Design matrix (intercept, time, level, [slope], Fourier pairs) and its column names."""
    t = np.asarray(t, dtype=float)
    post = np.asarray(post, dtype=float)
    cols = [np.ones_like(t), t, post]
    names = ["intercept", "time", "level_change"]
    if slope_change:
        cols.append((t - t0) * post)
        names.append("slope_change")
    if seasonality:
        m = np.asarray(month_of_year if month_of_year is not None else t, dtype=float)
        for k in range(1, int(seasonality) + 1):
            cols += [np.sin(2 * np.pi * k * m / PERIOD), np.cos(2 * np.pi * k * m / PERIOD)]
            names += [f"sin{k}", f"cos{k}"]
    return np.column_stack(cols), names


def counterfactual_design(X: np.ndarray, names: list[str]) -> np.ndarray:
    """The same rows with the intervention switched off."""
    Xc = X.copy()
    for name in ("level_change", "slope_change"):
        if name in names:
            Xc[:, names.index(name)] = 0.0
    return Xc


@dataclass
class PoissonFit:
    beta: np.ndarray
    cov_unscaled: np.ndarray  # (X' W X)^-1
    pearson_chi2: float
    deviance: float
    df_resid: int
    iterations: int
    converged: bool


def poisson_irls(
    X: np.ndarray, y: np.ndarray, offset: np.ndarray, beta0: np.ndarray | None = None, tol: float = 1e-10, max_iter: int = 50
) -> PoissonFit:
    """Poisson GLM with log link and offset by iteratively reweighted least squares.

    Same estimates as statsmodels' GLM (which the tests check) at a fraction of the cost: the
    normal equations are small (a handful of columns), so they are solved directly.
    """
    y = np.asarray(y, dtype=float)
    n, p = X.shape
    ylogy = float(np.sum(y[y > 0] * np.log(y[y > 0])))
    sum_y = float(y.sum())
    if beta0 is None:
        mu = y + 0.1 * max(sum_y / max(n, 1), 1e-8)
        eta = np.log(mu)
    else:
        eta = np.clip(X @ beta0 + offset, -700, 700)
        mu = np.exp(eta)
    # From a warm start one step is often enough: compare with the deviance there.
    dev_old = np.inf if beta0 is None else 2.0 * (ylogy - float(y @ eta) - sum_y + float(mu.sum()))
    beta = np.zeros(p)
    converged = False
    it = 0
    dev = np.nan
    for it in range(1, max_iter + 1):
        z = eta - offset + (y - mu) / mu
        xtw = X.T * mu
        try:
            beta = np.linalg.solve(xtw @ X, xtw @ z)
        except np.linalg.LinAlgError:
            beta = np.linalg.lstsq(X * np.sqrt(mu)[:, None], z * np.sqrt(mu), rcond=None)[0]
        eta = np.clip(X @ beta + offset, -700, 700)
        mu = np.exp(eta)
        dev = 2.0 * (ylogy - float(y @ eta) - sum_y + float(mu.sum()))
        if abs(dev - dev_old) <= tol * (abs(dev) + 0.1):
            converged = True
            break
        dev_old = dev
    xtwx = (X.T * mu) @ X
    try:
        cov = np.linalg.inv(xtwx)
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(xtwx)
    pearson = float(np.sum((y - mu) ** 2 / mu))
    return PoissonFit(beta, cov, pearson, float(dev), n - p, it, converged)


@dataclass
class Effect:
    estimate: float
    ci_low: float
    ci_high: float
    scale: str
    log_estimate: float | None = None  # coefficient on the link scale
    se: float | None = None
    p_value: float | None = None

    def as_dict(self) -> dict:
        return {k: _num(v) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def _num(v):
    return None if v is None or not math.isfinite(v) else float(v)


# Normal tail and quantile from the standard library: the engine needs no more of scipy, and
# importing scipy.stats costs every run ~0.5 s. erfc keeps tiny p-values exact (1 - cdf would not).
def two_sided_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def normal_quantile(q: float) -> float:
    return NormalDist().inv_cdf(q)


def _effect(b: float, se: float, z: float, scale: str) -> Effect:
    p = two_sided_p(b / se) if se and se > 0 else None
    if scale == "difference":
        return Effect(b, b - z * se, b + z * se, scale, b, se, p)
    with np.errstate(over="ignore"):
        est, lo, hi = (float(v) for v in np.exp([b, b - z * se, b + z * se]))
    return Effect(est, lo, hi, scale, b, se, p)


@dataclass
class ItsResult:
    family: str
    scale: str
    names: list[str]
    params: np.ndarray
    cov: np.ndarray  # scaled covariance of params (intervention model only; no NB alpha)
    dispersion: float
    level_change: Effect
    slope_change: Effect | None
    n_fit: int
    n_pre: int
    n_post: int
    t0: float
    frame: pd.DataFrame  # per row: x, t, observed, offset, in_fit, post, fitted, counterfactual (+ CI)
    alpha: float = 0.05
    extra: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    X: np.ndarray | None = None  # design of every row
    link_offset: np.ndarray | None = None  # log exposure (log link), trials (logit) or 0

    def cumulative(self, rows) -> tuple[float, float, float, float]:
        """Observed and counterfactual totals over `rows` (bool mask), with the counterfactual's CI.

        The counterfactual total's CI comes from the delta method on the model parameters; the
        observed total is taken as known.
        """
        rows = np.asarray(rows, dtype=bool)
        observed = float(np.nansum(self.frame["observed"].to_numpy()[rows]))
        Xc = counterfactual_design(self.X, self.names)[rows]
        total, lo, hi = total_with_ci(Xc, self.params, self.cov, self.link_offset[rows], self.family, self.z)
        return observed, total, lo, hi

    @property
    def z(self) -> float:
        return normal_quantile(1 - self.alpha / 2)

    def effect_at(self, t: float) -> Effect:
        """Level change plus slope change (t - t0) months after t0."""
        i = self.names.index("level_change")
        g = np.zeros(len(self.params))
        g[i] = 1.0
        if "slope_change" in self.names:
            g[self.names.index("slope_change")] = t - self.t0
        b = float(g @ self.params)
        se = float(np.sqrt(max(g @ self.cov @ g, 0.0)))
        return _effect(b, se, self.z, self.scale)

    def coefficients(self) -> dict:
        se = np.sqrt(np.clip(np.diag(self.cov), 0, None))
        out = {}
        for i, name in enumerate(self.names):
            b, s = float(self.params[i]), float(se[i])
            out[name] = {
                "estimate": _num(b),
                "se": _num(s),
                "ci_low": _num(b - self.z * s),
                "ci_high": _num(b + self.z * s),
                "p_value": _num(two_sided_p(b / s)) if s > 0 else None,
            }
        return out

    def as_dict(self) -> dict:
        cf = self.frame.copy()
        for col in cf.columns:
            if pd.api.types.is_datetime64_any_dtype(cf[col]):
                cf[col] = cf[col].dt.strftime("%Y-%m-%d")
        records = [
            {k: (_num(v) if isinstance(v, float) else (bool(v) if isinstance(v, np.bool_) else v)) for k, v in r.items()}
            for r in cf.to_dict("records")
        ]
        return {
            "family": self.family,
            "scale": self.scale,
            "n_fit": self.n_fit,
            "n_pre": self.n_pre,
            "n_post": self.n_post,
            "level_change": self.level_change.as_dict(),
            "slope_change": self.slope_change.as_dict() if self.slope_change else None,
            "dispersion": _num(self.dispersion),
            "coefficients": self.coefficients(),
            "counterfactual": records,
            **self.extra,
            "warnings": self.warnings,
        }


def _predict(X: np.ndarray, params: np.ndarray, cov: np.ndarray, offset: np.ndarray, family: str, z: float):
    eta = X @ params
    se = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", X, cov, X), 0, None))
    if family in LOG_LINK:
        f = lambda e: np.exp(e + offset)  # noqa: E731
    elif family in ("binomial", "quasibinomial"):
        f = lambda e: offset / (1 + np.exp(-e))  # noqa: E731
    else:
        f = lambda e: e  # noqa: E731
    return f(eta), f(eta - z * se), f(eta + z * se)


def fit_its(
    y,
    *,
    intervention: int,
    t=None,
    x=None,
    offset=None,
    family: str = "quasipoisson",
    seasonality: int = 0,
    month_of_year=None,
    slope_change: bool = False,
    ramp: int = 0,
    exclude=None,
    alpha: float = 0.05,
    hac_lags: int | None = None,
) -> ItsResult:
    """Fit the segmented regression to `y` (counts, or values for gaussian).

    `intervention` is the row index of the first post-intervention point; `ramp` rows from there
    on are left out of the fit (as are rows marked in `exclude`). `t` is the time of each row in
    months (default 0..n-1), `month_of_year` the calendar month for seasonality (default t).
    `offset` is the exposure (log taken) for log-link families and the number of trials for
    binomial ones.
    """
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")
    y = np.asarray(y, dtype=float)
    n = len(y)
    t = np.arange(n, dtype=float) if t is None else np.asarray(t, dtype=float)
    if not 0 < intervention < n:
        raise ValueError(f"intervention must fall after the first point and by the last (row 1..{n - 1}); got {intervention}")
    post = np.arange(n) >= intervention
    offset = np.asarray(offset, dtype=float) if offset is not None else None
    fit_mask = _fit_rows(y, post, intervention, ramp, exclude, offset)
    n_pre, n_post = int((fit_mask & ~post).sum()), int((fit_mask & post).sum())
    if n_pre < 3 or n_post < 1:
        raise ValueError(f"too few points to fit: {n_pre} before the intervention (need 3), {n_post} after it (need 1)")
    t0 = float(t[fit_mask & post][0])
    X, names = design(t, post, t0, month_of_year=month_of_year, seasonality=seasonality, slope_change=slope_change)
    p = X.shape[1]
    if fit_mask.sum() <= p:
        raise ValueError(f"too few points ({int(fit_mask.sum())}) for {p} parameters")
    warn: list[str] = []
    extra: dict = {}
    scale, z = effect_scale(family), normal_quantile(1 - alpha / 2)
    if family in ("poisson", "quasipoisson"):
        params, cov, dispersion, off_all = _fit_poisson(family, X[fit_mask], y[fit_mask], fit_mask, offset, warn)
    else:
        params, cov, dispersion, off_all = _fit_statsmodels(family, X[fit_mask], y[fit_mask], fit_mask, offset, hac_lags, extra)
    level = _named_effect("level_change", names, params, cov, z, scale)
    slope = _named_effect("slope_change", names, params, cov, z, scale) if slope_change else None
    fitted, _, _ = _predict(X, params, cov, off_all, family, z)
    cf, cf_lo, cf_hi = _predict(counterfactual_design(X, names), params, cov, off_all, family, z)
    frame = _its_frame(x, t, y, offset, post, fit_mask, fitted, cf, cf_lo, cf_hi)
    for w in warn:
        log.warning(w)
    return ItsResult(
        family, scale, names, params, cov, float(dispersion), level, slope,
        int(fit_mask.sum()), n_pre, n_post, t0, frame, alpha, extra, warn, X, off_all,
    )  # fmt: skip


def _named_effect(name: str, names: list[str], params: np.ndarray, cov: np.ndarray, z: float, scale: str) -> Effect:
    i = names.index(name)
    return _effect(float(params[i]), float(np.sqrt(cov[i, i])), z, scale)


def _fit_rows(y: np.ndarray, post: np.ndarray, intervention: int, ramp: int, exclude, offset) -> np.ndarray:
    """Rows fitted: not ramp-in, not excluded, with a value and a usable offset."""
    n = len(y)
    ramp_mask = post & (np.arange(n) < intervention + int(ramp))
    fit_mask = ~ramp_mask & ~np.isnan(y)
    if exclude is not None:
        fit_mask &= ~np.asarray(exclude, dtype=bool)
    if offset is not None:
        fit_mask &= np.isfinite(offset) & (offset > 0)
    return fit_mask


def _its_frame(x, t, y, offset, post, fit_mask, fitted, cf, cf_lo, cf_hi) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": x if x is not None else t,
            "t": t,
            "observed": y,
            "offset": offset if offset is not None else np.nan,
            "post": post,
            "in_fit": fit_mask,
            "fitted": fitted,
            "counterfactual": np.where(post, cf, np.nan),
            "counterfactual_low": np.where(post, cf_lo, np.nan),
            "counterfactual_high": np.where(post, cf_hi, np.nan),
        }
    )


def _fit_poisson(family: str, Xf, yf, fit_mask, offset, warn: list[str]):
    """(coefficients, covariance, dispersion, offset of every row) of a (quasi-)Poisson fit."""
    if (yf < 0).any():
        raise ValueError("poisson families need counts >= 0")
    log_off = np.log(offset) if offset is not None else np.zeros(len(fit_mask))
    fit = poisson_irls(Xf, yf, log_off[fit_mask])
    if not fit.converged:
        warn.append("the Poisson fit did not converge")
    dispersion = fit.pearson_chi2 / fit.df_resid if family == "quasipoisson" and fit.df_resid > 0 else 1.0
    return fit.beta, fit.cov_unscaled * dispersion, dispersion, log_off


def _fit_statsmodels(family: str, Xf, yf, fit_mask, offset, hac_lags: int | None, extra: dict):
    """As _fit_poisson, for the families statsmodels fits (negative binomial, binomial, Gaussian)."""
    import statsmodels.api as sm

    n, p = len(fit_mask), Xf.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if family == "negbin":
            off = np.log(offset) if offset is not None else np.zeros(n)
            res = sm.NegativeBinomial(yf, Xf, offset=off[fit_mask], loglike_method="nb2").fit(disp=0, maxiter=200)
            params, cov = np.asarray(res.params[:p]), np.asarray(res.cov_params())[:p, :p]
            extra["dispersion_kind"] = "negative binomial alpha (Var = mu + alpha mu^2)"
            return params, cov, float(np.asarray(res.params)[p]), off  # alpha: Var = mu + alpha mu^2
        if family in ("binomial", "quasibinomial"):
            return _fit_binomial(sm, family, Xf, yf, fit_mask, offset)
        if offset is not None:
            raise ValueError("gaussian takes no offset: give the rate or value itself as y")
        lags = hac_lags if hac_lags is not None else int(math.floor(4 * (len(yf) / 100) ** (2 / 9)))
        res = sm.OLS(yf, Xf).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
        extra["newey_west_lags"] = lags
        return np.asarray(res.params), np.asarray(res.cov_params()), float(res.scale), np.zeros(n)


def _fit_binomial(sm, family: str, Xf, yf, fit_mask, offset):
    if offset is None:
        raise ValueError("binomial families need the number of trials as the offset column")
    trials = offset
    endog = np.column_stack([yf, trials[fit_mask] - yf])
    res = sm.GLM(endog, Xf, family=sm.families.Binomial()).fit()
    params, cov = np.asarray(res.params), np.asarray(res.cov_params())
    # Pearson chi2 on the counts (statsmodels' "X2" scale works on proportions here).
    n_t = trials[fit_mask]
    p_hat = 1 / (1 + np.exp(-(Xf @ params)))
    chi2 = float(np.sum((yf - n_t * p_hat) ** 2 / (n_t * p_hat * (1 - p_hat))))
    dispersion = chi2 / (len(yf) - Xf.shape[1])
    if family == "quasibinomial":
        cov = cov * dispersion
    else:
        dispersion = 1.0
    return params, cov, dispersion, trials


def total_with_ci(
    Xc: np.ndarray,
    params: np.ndarray,
    cov: np.ndarray,
    offset: np.ndarray,
    family: str,
    z: float,
    dispersion: float | None = None,
) -> tuple[float, float, float]:
    """Sum of the predictions of rows Xc (with their offsets) and its delta-method CI.

    With `dispersion`, a prediction interval instead: the months' own variation is added to the
    model's (dispersion x expected count for counts, the residual variance per month for values),
    so the interval is for the total that would have been counted, not only for its expectation.
    A count's lower limit is not below zero."""
    eta = Xc @ params
    if family in LOG_LINK:
        pred = np.exp(eta + offset)
        grad = pred @ Xc
    elif family in ("binomial", "quasibinomial"):
        p = 1 / (1 + np.exp(-eta))
        pred = offset * p
        grad = (pred * (1 - p)) @ Xc
    else:
        pred = eta
        grad = Xc.sum(axis=0)
    total = float(pred.sum())
    var = max(float(grad @ cov @ grad), 0.0)
    if dispersion is not None:
        if family in LOG_LINK:
            var += dispersion * total
        elif family in ("binomial", "quasibinomial"):
            var += dispersion * float((pred * (1 - p)).sum())
        else:
            var += dispersion * len(pred)
    se = math.sqrt(var)
    if dispersion is not None and family in LOG_LINK and total > 0:
        # On the log scale: a count total is positive and skewed when it is small.
        half = z * se / total
        return total, total * math.exp(-half), total * math.exp(half)
    low = total - z * se
    if dispersion is not None and family != "gaussian":
        low = max(low, 0.0)  # a predicted count; the expectation's CI (`benefits its`) is as it was
    return total, low, total + z * se
