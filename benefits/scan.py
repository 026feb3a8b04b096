"""Scan every measure of every site for special-cause change that no registered benefit explains.

Each site x measure series is charted with limits from its first `baseline_points` months
(fixed and extended, as for a benefit's evidence chart). A signal is a block of at least
`min_points` consecutive special-cause points of the same type that ends after those months.
Months from the go-live of a benefit on that measure (planned, or an unanticipated benefit or
disbenefit already recorded) are not scanned: that change is already claimed.

Provisional months (a measure's warm-up at the start of a site's series, months not yet mature at
its end) are not scanned, and a measure is covered too from the go-live of a benefit on a measure
it is `moved_by` (bed days, by a length-of-stay benefit).

A run is reported only when a level change (at least a year in, at least `confirm_months` before
the series ends) is beyond the series' season (and trend, from 12 months) in a regression on the
months to a year after the run, with small-sample corrected Newey-West errors and t, in the run's
direction. The change is placed at the run's best month in its first year, p multiplied by the
months tried, p < 0.0001; one change is reported once, from the month it was placed at.
On the validity harness's series (bench/bench_scan.py; docs/validity.md) precision 0.59 -> 0.85.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benefits import spc as S
from benefits.months import Maturity
from benefits.status import fmt, month
from benefits.tables import FACT_UNPLANNED_CHANGE

COLUMNS = list(FACT_UNPLANNED_CHANGE.types)


@dataclass(frozen=True)
class ScanSettings:
    baseline_points: int = 12
    min_points: int = 3
    screen_outliers: bool = True
    # A run of special-cause points is reported only when a level change at its first month is
    # beyond the season and trend of the series (below): SPC against limits from the first year
    # alone flags every seasonal swing and drift, and a list nobody can act on is not a scan.
    confirm_p: float = 0.0001
    trend_min_points: int = 12
    # A run is confirmed only when this many months from its first are observed: a step seen for 3
    # months at the end of a series (or before a benefit's go-live) cannot be told from the rise
    # into a season's peak, however small its p.
    confirm_months: int = 6
    locate_months: int = 12


RULE_TEXT = {
    "outside_limits": "points beyond the process limits",
    "trend": "a run of 7 points each moving the same way",
    "two_in_three": "2 of 3 points near a process limit",
    "run": "a run of 7 or more points on one side of the mean",
}


def step_p(y: np.ndarray, months: list[dt.date], at: int, trend: bool) -> tuple[float, float]:
    """Level change at row `at` in a regression of the value on season (one Fourier pair),
    optionally a linear trend, and a step; Newey-West errors. Returns (step, two-sided p)."""
    import statsmodels.api as sm

    n = len(y)
    t = np.arange(n, dtype=float)
    moy = np.array([m.month for m in months], dtype=float)
    cols = [np.ones(n), np.sin(2 * np.pi * moy / 12), np.cos(2 * np.pi * moy / 12), (t >= at).astype(float)]
    if trend:
        cols.insert(1, t)
    X = np.column_stack(cols)
    lags = int(np.floor(4 * (n / 100) ** (2 / 9)))
    try:
        # Small-sample corrected and referred to t: on 20-30 months the plain Newey-West z test
        # confirmed 4% of seasonal series with no change at p < 0.0001 (24 of 600; 5 corrected).
        res = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True)
    except (np.linalg.LinAlgError, ValueError):
        return float("nan"), float("nan")
    return float(res.params[-1]), float(res.pvalues[-1])


def scan_series(
    months: list[dt.date], y: np.ndarray, sign: int, settings: ScanSettings = ScanSettings()
) -> list[dict]:
    """Signals in one series (consecutive observed months, no missing values)."""
    n = len(y)
    nb = settings.baseline_points
    if n <= nb:
        return []
    chart = S.xmr(y, in_limits=np.arange(n) < nb, improvement=sign, screen_outliers=settings.screen_outliers)
    types = chart.point_type
    special = types != S.COMMON
    if not special[nb:].any():
        return []
    # Blocks of consecutive points of one special-cause type.
    change = np.concatenate([[True], types[1:] != types[:-1]])
    starts = np.flatnonzero(change)
    ends = np.concatenate([starts[1:], [n]])
    out = []
    confirmed_from: dict[str, int] = {}
    for a, b in zip(starts, ends):
        if not special[a] or b - a < settings.min_points or b - 1 < nb:
            continue
        t = str(types[a])
        # One change is reported once: later runs of the same type belong to it.
        if t in confirmed_from:
            continue
        first = _confirmed_start(months, y, int(a), int(b), t, sign, settings)
        if first is None:
            continue
        confirmed_from[t] = first
        out.append(_signal(months, y, chart, first, int(b), t, nb))
    return out


def _confirmed_start(months: list[dt.date], y: np.ndarray, a: int, b: int, t: str, sign: int, settings: ScanSettings) -> int | None:
    """Where the run of rows a..b-1 (point type t) starts as a confirmed step, None if it is not one.

    Tested on the months to a year after the run, with at least a year before it: a change
    further on (a benefit's go-live) must not lend this run its significance, and a season
    needs a year to be told from a step. The step is placed at the run's best month in its
    first `locate_months` (a season's low before a step joins the run, which then starts
    months early), and its p multiplied by the months tried (Bonferroni)."""
    n, nb = len(y), settings.baseline_points
    high = t in (S.CONCERN, S.NEUTRAL_HIGH) if sign < 0 else t in (S.IMPROVEMENT, S.NEUTRAL_HIGH)
    stop = min(n, int(b) + 12)
    tried = [k for k in range(max(int(a), nb), min(int(b), max(int(a), nb) + settings.locate_months))
             if n - k >= settings.confirm_months]  # fmt: skip
    best = None
    for k in tried:
        step, p = step_p(y[:stop], months[:stop], k, trend=k >= settings.trend_min_points)
        if (step > 0) == high and np.isfinite(p) and (best is None or p < best[1]):
            best = (k, p)
    if best is None or not (best[1] * len(tried) < settings.confirm_p):
        return None
    return int(best[0])


def _signal(months: list[dt.date], y: np.ndarray, chart: S.Chart, a: int, b: int, t: str, nb: int) -> dict:
    """The signal of rows a..b-1 against the first `nb` (the baseline)."""
    mean = float(chart.mean[0])
    rules = Counter(int(r) for r in chart.rule[a:b])
    rule = S.RULES[max(rules.items(), key=lambda kv: (kv[1], -kv[0]))[0]]
    direction = "improvement" if t == S.IMPROVEMENT else "concern" if t == S.CONCERN else "neutral"
    sig_mean = float(y[a:b].mean())
    return {
        "first_month": months[a],
        "last_month": months[b - 1],
        "months": int(b - a),
        "rule": rule,
        "direction": direction,
        "point_type": t,
        "baseline_start": months[0],
        "baseline_end": months[nb - 1],
        "baseline_mean": mean,
        "signal_mean": sig_mean,
        "size_abs": sig_mean - mean,
        "size_pct": 100.0 * (sig_mean - mean) / mean if mean else np.nan,
        "ongoing": bool(b == len(y)),
        "scanned_to": months[-1],
    }


def describe(r: dict, measure: str, figures: bool = True) -> str:
    """The signal in words; without its means when `figures` is false (a withheld month among them)."""
    what = {"improvement": "Possible unanticipated benefit", "concern": "Possible disbenefit"}.get(
        r["direction"], "Unexplained change"
    )
    until = "ongoing" if r["ongoing"] else f"to {month(r['last_month'])}"
    head = f"{what} on {measure}: {r['months']} months from {month(r['first_month'])} ({until}) show " \
           f"{RULE_TEXT.get(r['rule'], r['rule'])}"  # fmt: skip
    baseline = f"{month(r['baseline_start'])}-{month(r['baseline_end'])}"
    if not figures:
        return f"{head} against {baseline}; the means are withheld, as a month they cover is withheld nationally"
    pct = f", {r['size_pct']:+.0f}%" if np.isfinite(r["size_pct"]) else ""
    return f"{head}; mean {fmt(r['signal_mean'])} against {fmt(r['baseline_mean'])} in {baseline}{pct}"


def scan_unplanned(
    series: pd.DataFrame,
    directions: dict,
    covered: dict[tuple[str, str], dt.date] | None = None,
    settings: ScanSettings = ScanSettings(),
    measures: dict | None = None,
) -> pd.DataFrame:
    """Signals across all sites and measures.

    `series`: site_code, measure_code, month, value. `directions`: (site, measure) or measure ->
    higher, lower or neutral (local measures of two sites may share a code; unknown measures
    are scanned as neutral). `covered`: (site, measure) -> the
    earliest go-live of a benefit on it; months from then on are not scanned. `measures`: (site,
    measure) or measure -> MeasureSpec; its provisional months (warm-up at the start of a site's
    series, not yet mature at its end) are not scanned, and a measure is covered too from the
    go-live of a benefit on a measure it is `moved_by`.
    """
    covered = covered or {}
    measures = measures or {}
    s = _tidy(series)
    if s.empty:
        return pd.DataFrame(columns=COLUMNS)
    key = s["site_code"].astype(str) + "\x1f" + s["measure_code"].astype(str)
    kv = key.to_numpy()
    bounds = np.flatnonzero(np.concatenate([[True], kv[1:] != kv[:-1], [True]]))
    months_all = s["month"].to_numpy()
    values = s["value"].to_numpy(dtype=float)
    site_codes, measure_codes = s["site_code"].to_numpy(), s["measure_code"].to_numpy()
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        site, measure = str(site_codes[a]), str(measure_codes[a])
        spec = measures.get((site, measure), measures.get(measure))
        ms, ys = _complete_months(list(months_all[a:b]), values[a:b], spec)
        stop = _covered_from(site, measure, spec, covered)
        if stop is not None:
            keep = np.array([m < stop for m in ms], dtype=bool)
            ms, ys = [m for m, k in zip(ms, keep) if k], ys[keep]
        sign = S.direction_sign(directions.get((site, measure), directions.get(measure, "neutral")))
        for r in scan_series(ms, ys, sign, settings):
            r.update(site_code=site, measure_code=measure, covered_from=stop, description=describe(r, measure))
            rows.append(r)
    return pd.DataFrame(rows, columns=COLUMNS)


def _tidy(series: pd.DataFrame) -> pd.DataFrame:
    """The series with a value, sorted by site, measure and month."""
    s = series[["site_code", "measure_code", "month", "value"]].copy()
    s["value"] = pd.to_numeric(s["value"], errors="coerce")
    s = s.dropna(subset=["value"])
    s["month"] = pd.to_datetime(s["month"]).dt.date
    return s.sort_values(["site_code", "measure_code", "month"], kind="stable").reset_index(drop=True)


def _complete_months(ms: list[dt.date], ys: np.ndarray, spec) -> tuple[list[dt.date], np.ndarray]:
    """Incomplete months are record-level artefacts (spells admitted before the extract missing
    from the first months' bed days, readmissions not yet seen in the last): in the baseline they
    bend the trend the confirmation is tested against."""
    if spec is None or not len(ms):
        return ms, ys
    keep = ~Maturity(ms, spec).immature_at(len(ms) - 1)
    return [m for m, k in zip(ms, keep) if k], ys[keep]


def _covered_from(site: str, measure: str, spec, covered: dict[tuple[str, str], dt.date]) -> dt.date | None:
    """The earliest go-live of a benefit on the measure, or on a measure it is `moved_by`: the
    other measure's benefit claims the change it makes in this one's records."""
    stop = covered.get((site, measure))
    for other in spec.moved_by if spec is not None else ():
        if (site, other) in covered:
            stop = min(stop or covered[(site, other)], covered[(site, other)])
    return stop
