"""One benefit's interrupted time series (ITS) design, built once and refitted for each as-of month."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from benefits.its import counterfactual_design, design, poisson_irls
from benefits.months import Maturity, month_index
from benefits.register import Benefit
from benefits.specs import EngineSettings, MeasureSpec


@dataclass(frozen=True)
class Comparator:
    """A comparison series for a controlled ITS: the measure's rate per month over other sites."""

    months: tuple[dt.date, ...]
    rate: tuple[float, ...]
    description: str  # e.g. "the same measure at 223-234 sites with no benefit on it"

    def log_rate(self, months: list[dt.date]) -> np.ndarray:
        by_month = dict(zip(self.months, self.rate))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(np.array([by_month.get(m, np.nan) for m in months], dtype=float))


class ItsPlan:
    """One benefit's ITS design, built once and refitted for each as-of month."""

    def __init__(self, months, value, num, den, benefit: Benefit, measure: MeasureSpec, g_idx: int, r_idx: int,
                 settings: EngineSettings, maturity: Maturity, comparator: Comparator | None = None):
        self.settings = settings
        self.maturity = maturity
        self.analysis = benefit.analysis
        n = len(months)
        self.n = n
        self.idx = np.arange(n)
        t = np.array([month_index(m) - month_index(months[0]) for m in months], dtype=float) if n else np.zeros(0)
        moy = np.array([m.month for m in months], dtype=float)
        self._outcome(value, num, den, measure)
        self.counts = self.family != "gaussian"
        self.offset_text = "log(denominator) offset" if self.counts and measure.has_denominator else "no offset"
        in_window = np.array([m >= benefit.baseline.start for m in months], dtype=bool)
        ramp = (self.idx >= g_idx) & (self.idx < r_idx)
        self.valid = np.isfinite(self.y) & np.isfinite(self.log_off)
        self.fit_rows = in_window & ~ramp & self.valid & ~maturity.warm_up
        self.g_idx, self.r_idx = g_idx, r_idx
        post = self.idx >= g_idx
        self.post = post
        post_fit = np.flatnonzero(self.fit_rows & post)
        self.t = t
        self.t0 = float(t[post_fit[0]]) if len(post_fit) else float(t[-1] + 1 if n else 0)
        K = max(settings.seasonality_pairs, (self.analysis.seasonality or 0) if self.analysis else 0)
        self.X, self.names = design(t, post, self.t0, month_of_year=moy, seasonality=K, slope_change=True)
        self.comparator_text = ""
        self.comp = np.zeros(n)
        if comparator is not None and n and self.counts:
            self._control_for(comparator, months)
        self.Xc = counterfactual_design(self.X, self.names)
        self.n_seasonal_cols = 2 * K
        self._warm: dict[tuple, np.ndarray] = {}

    def _outcome(self, value: np.ndarray, num: np.ndarray, den: np.ndarray, measure: MeasureSpec) -> None:
        """What is modelled: the counts (numerator, log denominator as offset) where the measure
        has them and the benefit does not ask for a Gaussian model, else the values."""
        n = len(value)
        family = (self.analysis.family if self.analysis and self.analysis.family else None) or "quasipoisson"
        counts_ok = measure.family in ("binomial", "poisson", "mean") and n and np.isfinite(num).any()
        if family != "gaussian" and counts_ok:
            self.family = family
            self.y = num
            if measure.has_denominator:
                with np.errstate(divide="ignore", invalid="ignore"):
                    self.log_off = np.where(den > 0, np.log(den), np.nan)
            else:
                self.log_off = np.zeros(n)
            self.value_factor = measure.multiplier if measure.has_denominator else 1.0
        else:
            self.family = "gaussian"
            self.y = value
            self.log_off = np.zeros(n)
            self.value_factor = 1.0

    def _control_for(self, comparator: Comparator, months: list[dt.date]) -> None:
        """Controlled ITS: the comparator's log rate is an offset (coefficient 1) in the factual
        and the counterfactual alike: the site is modelled relative to sites without the change,
        so a change everyone saw is not credited to this site's system. A free coefficient would
        be confounded with the level change whenever the comparator moves at go-live too, which is
        the very case it is for."""
        c = comparator.log_rate(months)
        if np.isfinite(c[self.fit_rows]).all() and np.isfinite(c[self.post]).all():
            self.comp = np.where(np.isfinite(c), c - np.nanmean(c[self.fit_rows]), 0.0)
            self.log_off = self.log_off + self.comp
            self.comparator_text = f"relative to {comparator.description} (log rate as offset)"

    def columns(self, m: int) -> tuple[list[int], int, bool, bool] | None:
        """The model fitted with data up to row m: (columns, Fourier pairs, slope in the primary
        model, slope from an extended model), or None when there are too few points.

        A secular trend is fitted from `trend_min_pre` months before go-live: leaving it out biases
        the counterfactual by the drift times the months since go-live, which the narrow intervals
        of a large trust cannot absorb (docs/benefits.md gives the calibration either way)."""
        st = self.settings
        pre, post = self.points(m)
        total = pre + post
        if pre < st.its_min_pre or post < st.its_min_post:
            return None
        a = self.analysis
        K = self._fourier_pairs(pre, total)
        slope = bool(a is not None and a.slope_change)
        extended = (a is None or a.slope_change is None) and post >= st.slope_min_post
        trend = a.trend if a is not None and a.trend is not None else pre >= st.trend_min_pre
        cols = [0] + ([1] if trend else []) + [2] + ([3] if slope else []) + [4 + i for i in range(2 * K)]
        if total <= len(cols) + 1 + extended:
            return None
        return cols, K, slope, extended

    def _fourier_pairs(self, pre: int, total: int) -> int:
        """The benefit's own choice, else the automatic one once there are months enough."""
        a, st = self.analysis, self.settings
        if a is not None and a.seasonality is not None:
            return a.seasonality
        return st.seasonality_pairs if total >= st.seasonality_min_points and pre >= st.seasonality_min_pre else 0

    def rows_at(self, m: int) -> np.ndarray:
        """Rows fitted with data to row m: in the window, not ramp-in, complete by then."""
        return self.fit_rows & (self.idx <= m) & ~self.maturity.immature_at(m)

    def points(self, m: int) -> tuple[int, int]:
        rows = self.rows_at(m)
        return int((rows & ~self.post).sum()), int((rows & self.post).sum())

    def baseline_events(self) -> float | None:
        """Events in the fitted months before go-live (count models only)."""
        return float(self.y[self.fit_rows & ~self.post].sum()) if self.counts else None

    def fit(self, m: int, cols: list[int]):
        rows = self.rows_at(m)
        X = self.X[rows][:, cols]
        y = self.y[rows]
        if self.counts:
            pre = rows & (self.idx < self.g_idx)
            if not self.y[pre].sum() > 0 or not self.y[rows & ~pre].sum() > 0:
                raise ValueError("no events before or after go-live")
            # Consecutive as-of months differ by one point: start from the previous estimate.
            key = tuple(cols)
            f = poisson_irls(X, y, self.log_off[rows], beta0=self._warm.get(key))
            if not f.converged or not np.isfinite(f.beta).all() or not np.isfinite(f.cov_unscaled).all():
                raise ValueError("the Poisson fit did not converge")
            self._warm[key] = f.beta
            disp = f.pearson_chi2 / f.df_resid if self.family == "quasipoisson" and f.df_resid > 0 else 1.0
            return f.beta, f.cov_unscaled * disp, disp
        import statsmodels.api as sm

        lags = int(math.floor(4 * (len(y) / 100) ** (2 / 9)))
        res = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
        return np.asarray(res.params), np.asarray(res.cov_params()), float(res.scale)

    def model_text(self, K: int, slope: bool, extended: bool, trend: bool = True) -> str:
        parts = [
            "quasi-Poisson" if self.family == "quasipoisson" else ("Poisson" if self.family == "poisson" else "Gaussian (Newey-West errors)"),
            self.offset_text if self.counts else "on the value",
            "secular trend" if trend else f"no secular trend (fewer than {self.settings.trend_min_pre} months before go-live)",
            "level change" + (" and slope change" if slope else " (slope change from the model extended with it)" if extended else ""),
        ]
        if K:
            parts.append(f"{K} Fourier pair{'s' if K > 1 else ''} (period 12)")
        if self.comparator_text:
            parts.append(self.comparator_text)
        if self.r_idx > self.g_idx:
            parts.append(f"{self.r_idx - self.g_idx} ramp-in month(s) excluded")
        return ", ".join(parts)
