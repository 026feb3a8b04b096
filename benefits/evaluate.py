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

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benefits import spc as S
from benefits.its import LOG_LINK, counterfactual_design, design, poisson_irls, total_with_ci
from benefits.register import Benefit
from benefits.status import StatusInputs, StatusRules, assess, effect_evidence, fmt, hold, held_reason
from benefits.tables import FACT_BENEFIT, FACT_BENEFIT_SPC

FACT_BENEFIT_COLUMNS: dict[str, str] = FACT_BENEFIT.types
FACT_BENEFIT_SPC_COLUMNS: dict[str, str] = FACT_BENEFIT_SPC.types
Z95 = 1.959963984540054


@dataclass(frozen=True)
class MeasureSpec:
    """What the engine needs to know about a measure (pipeline.marts.build.MeasureDef fits)."""

    code: str
    direction: str = "neutral"  # higher | lower | neutral
    family: str = "binomial"  # binomial | poisson | mean: how the numerator is distributed
    multiplier: float = 1.0
    has_denominator: bool = True
    numerator: str = ""
    warm_up_months: int = 0  # first months of a site's series that are incomplete
    mature_after_days: int = 0  # a month is complete this many days after its end
    moved_by: tuple[str, ...] = ()  # measures of the same records: their benefits explain this one's changes

    @classmethod
    def of(cls, m) -> MeasureSpec:
        return cls(
            code=m.code,
            direction=getattr(m, "direction", "neutral") or "neutral",
            family=getattr(m, "family", "binomial") or "binomial",
            multiplier=float(getattr(m, "multiplier", 1.0) or 1.0),
            has_denominator=bool(getattr(m, "has_denominator", True)),
            numerator=getattr(m, "numerator", "") or "",
            warm_up_months=int(getattr(m, "warm_up_months", 0) or 0),
            mature_after_days=int(getattr(m, "mature_after_days", 0) or 0),
            moved_by=tuple(getattr(m, "moved_by", ()) or ()),
        )


@dataclass(frozen=True)
class EngineSettings:
    status: StatusRules = StatusRules()
    screen_outliers: bool = True
    short_group: int = S.SHORT_GROUP
    its_min_pre: int = 8  # fitted months before go-live
    its_min_post: int = 3  # fitted months after ramp-in
    slope_min_post: int = 12  # fit a slope change from this many months after ramp-in (unless overridden)
    seasonality_min_points: int = 24  # Fourier terms once this many months are fitted ...
    seasonality_min_pre: int = 12  # ... with at least this many before go-live
    # A secular trend only from this many fitted months before go-live. Not 12: a measure with a
    # 2-month warm-up (length of stay, readmissions, rates per bed day) fits 11 months from a
    # calendar year of baseline, and without the trend its counterfactual missed by the drift
    # times two years (cumulative coverage 0.55 on length of stay at scale 0.5, docs/benefits.md).
    trend_min_pre: int = 10
    seasonality_pairs: int = 1  # the automatic choice


DEFAULT_SETTINGS = EngineSettings()


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


def month_index(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def add_months(d: dt.date, k: int) -> dt.date:
    i = month_index(d) + k
    return dt.date(i // 12, i % 12 + 1, 1)


def _clean_series(series: pd.DataFrame) -> tuple[list[dt.date], np.ndarray, np.ndarray, np.ndarray]:
    """Months (first days, ascending, unique) with a value, and their value, numerator, denominator."""
    n = len(series)
    months = series["month"].tolist() if n else []
    if months and not all(type(m) is dt.date for m in months):
        months = [d.date() for d in pd.to_datetime(pd.Series(months))]
    value = pd.to_numeric(series["value"], errors="coerce").to_numpy(dtype=float) if n else np.zeros(0)
    num = series["numerator"].to_numpy(dtype=float) if "numerator" in series.columns else np.full(n, np.nan)
    den = series["denominator"].to_numpy(dtype=float) if "denominator" in series.columns else np.full(n, np.nan)
    keep = ~np.isnan(value)
    mi = np.array([month_index(m) for m in months], dtype=np.int64)
    order = np.argsort(mi, kind="stable")
    order = order[keep[order]]
    # one row per month: the last one given wins
    last = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        last[:-1] = mi[order][1:] != mi[order][:-1]
    order = order[last]
    return [months[i] for i in order], value[order], num[order], den[order]


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


def _month_end_ordinals(months: list[dt.date]) -> np.ndarray:
    return np.array([add_months(m, 1).toordinal() - 1 for m in months], dtype=np.int64)


class Maturity:
    """Which months of a series are complete enough to estimate from (see MeasureSpec)."""

    def __init__(self, months: list[dt.date], measure: MeasureSpec):
        n = len(months)
        mi = np.array([month_index(m) for m in months], dtype=np.int64)
        self.warm_up = mi < (mi[0] + measure.warm_up_months) if n else np.zeros(0, bool)
        self.days = measure.mature_after_days
        self.end = _month_end_ordinals(months)

    def immature_at(self, m: int) -> np.ndarray:
        """Months not yet complete with data to the end of row m (warm-up months never are)."""
        late = (self.end + self.days > self.end[m]) if self.days else np.zeros(len(self.end), bool)
        return self.warm_up | late


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


class _ItsPlan:
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
            # Controlled ITS: the comparator's log rate is an offset (coefficient 1) in the
            # factual and the counterfactual alike: the site is modelled relative to sites without
            # the change, so a change everyone saw is not credited to this site's system. A free
            # coefficient would be confounded with the level change whenever the comparator moves
            # at go-live too, which is the very case it is for.
            c = comparator.log_rate(months)
            if np.isfinite(c[self.fit_rows]).all() and np.isfinite(c[post]).all():
                self.comp = np.where(np.isfinite(c), c - np.nanmean(c[self.fit_rows]), 0.0)
                self.log_off = self.log_off + self.comp
                self.comparator_text = f"relative to {comparator.description} (log rate as offset)"
        self.Xc = counterfactual_design(self.X, self.names)
        self.n_seasonal_cols = 2 * K
        self._warm: dict[tuple, np.ndarray] = {}

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
        if a is not None and a.seasonality is not None:
            K = a.seasonality
        else:
            K = st.seasonality_pairs if total >= st.seasonality_min_points and pre >= st.seasonality_min_pre else 0
        slope = bool(a is not None and a.slope_change)
        extended = (a is None or a.slope_change is None) and post >= st.slope_min_post
        trend = a.trend if a is not None and a.trend is not None else pre >= st.trend_min_pre
        cols = [0] + ([1] if trend else []) + [2] + ([3] if slope else []) + [4 + i for i in range(2 * K)]
        if total <= len(cols) + 1 + extended:
            return None
        return cols, K, slope, extended

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


def _effect(b: float, se: float, log_link: bool) -> tuple[float, float, float]:
    lo, hi = b - Z95 * se, b + Z95 * se
    if not log_link:
        return b, lo, hi
    with np.errstate(over="ignore"):
        return tuple(float(v) for v in np.exp([b, lo, hi]))


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


def _its_as_of(plan: _ItsPlan, m: int, sign: int, benefit: Benefit, measure: MeasureSpec) -> tuple[dict, tuple | None]:
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
    lv, lv_lo, lv_hi = _effect(beta[il], se[il], log_link)
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
        sv, sv_lo, sv_hi = _effect(beta[js], se[js], log_link)
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
            sv, sv_lo, sv_hi = _effect(b2[js], math.sqrt(max(c2[js, js], 0.0)), log_link)
            out.update(slope_change=sv, slope_change_low=sv_lo, slope_change_high=sv_hi)
        except (np.linalg.LinAlgError, ValueError):
            pass
    eb = float(g @ beta)
    ese = float(np.sqrt(max(g @ cov @ g, 0.0)))
    out["effect_latest"], out["effect_latest_low"], out["effect_latest_high"] = _effect(eb, ese, log_link)
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


def _spc_rows(site_code, benefit, direction, months, y, num, den, mi, chart_b, chart_r, plan, final_fit, st, go, ramp_end, b0, b1, target):
    n = len(months)
    segment = np.where(
        mi < b0, "pre_baseline",
        np.where(mi <= b1, "baseline", np.where(mi < go, "pre_go_live", np.where(mi < ramp_end, "ramp_in", "post_go_live"))),
    )  # fmt: skip
    limit_points = np.bincount(chart_b.group, weights=chart_b.in_limits.astype(float)) if n else np.zeros(0)
    sizes_r = chart_r.group_sizes()
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
        window = mi >= b0
        post = mi >= go
        fitted = np.where(window, to_value(eta_f), np.nan)
        cf = np.where(post, to_value(eta_c), np.nan)
        cf_lo = np.where(post, to_value(eta_c - Z95 * se_c), np.nan)
        cf_hi = np.where(post, to_value(eta_c + Z95 * se_c), np.nan)
        in_fit = plan.fit_rows.copy()
    return {
        "site_code": [site_code] * n,
        "benefit_id": [benefit.id] * n,
        "measure_code": [benefit.measure] * n,
        "month": months,
        "value": y,
        "numerator": num,
        "denominator": den,
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
        "signal": [S.signal_text(r, s) for r, s in zip(chart_b.rule, chart_b.side)],
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
        "target": np.full(n, np.nan if target is None else float(target)),
        "improvement_direction": [direction] * n,
        "its_in_fit": in_fit,
        "its_fitted": fitted,
        "its_counterfactual": cf,
        "its_counterfactual_low": cf_lo,
        "its_counterfactual_high": cf_hi,
    }


def describe(fact_row: pd.Series) -> str:
    """One benefit-month in a sentence (for logs and notebooks)."""
    parts = [f"{fact_row['benefit_id']} as of {fact_row['as_of_month']:%b %Y}: {fact_row['status']} ({fact_row['status_reason']})"]
    if pd.notna(fact_row.get("level_change")):
        parts.append(
            f"level change {fmt(fact_row['level_change'])} ({fmt(fact_row['level_change_low'])} to {fmt(fact_row['level_change_high'])})"
        )
    return "; ".join(parts)
