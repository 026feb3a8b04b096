"""Scan every measure of every site for special-cause change that no registered benefit explains.

Each site x measure series is charted with limits from its first `baseline_points` months
(fixed and extended, as for a benefit's evidence chart). A signal is a block of at least
`min_points` consecutive special-cause points of the same type that ends after those months.
Months from the go-live of a benefit on that measure (planned, or an unanticipated benefit or
disbenefit already recorded) are not scanned: that change is already claimed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benefits import spc as S
from benefits.status import fmt, month
from benefits.tables import FACT_UNPLANNED_CHANGE

COLUMNS = list(FACT_UNPLANNED_CHANGE.types)


@dataclass(frozen=True)
class ScanSettings:
    baseline_points: int = 12
    min_points: int = 3
    screen_outliers: bool = True


RULE_TEXT = {
    "outside_limits": "points beyond the process limits",
    "trend": "a run of 7 points each moving the same way",
    "two_in_three": "2 of 3 points near a process limit",
    "run": "a run of 7 or more points on one side of the mean",
}


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
    mean = float(chart.mean[0])
    for a, b in zip(starts, ends):
        if not special[a] or b - a < settings.min_points or b - 1 < nb:
            continue
        rules = Counter(int(r) for r in chart.rule[a:b])
        rule = S.RULES[max(rules.items(), key=lambda kv: (kv[1], -kv[0]))[0]]
        t = str(types[a])
        direction = "improvement" if t == S.IMPROVEMENT else "concern" if t == S.CONCERN else "neutral"
        sig_mean = float(y[a:b].mean())
        out.append(
            {
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
                "ongoing": bool(b == n),
                "scanned_to": months[-1],
            }
        )
    return out


def _describe(r: dict, measure: str) -> str:
    what = {"improvement": "Possible unanticipated benefit", "concern": "Possible disbenefit"}.get(
        r["direction"], "Unexplained change"
    )
    pct = f", {r['size_pct']:+.0f}%" if np.isfinite(r["size_pct"]) else ""
    until = "ongoing" if r["ongoing"] else f"to {month(r['last_month'])}"
    return (
        f"{what} on {measure}: {r['months']} months from {month(r['first_month'])} ({until}) show "
        f"{RULE_TEXT.get(r['rule'], r['rule'])}; mean {fmt(r['signal_mean'])} against {fmt(r['baseline_mean'])} "
        f"in {month(r['baseline_start'])}-{month(r['baseline_end'])}{pct}"
    )


def scan_unplanned(
    series: pd.DataFrame,
    directions: dict,
    covered: dict[tuple[str, str], dt.date] | None = None,
    settings: ScanSettings = ScanSettings(),
) -> pd.DataFrame:
    """Signals across all sites and measures.

    `series`: site_code, measure_code, month, value. `directions`: (site, measure) or measure ->
    higher, lower or neutral (local measures of two sites may share a code; unknown measures
    are scanned as neutral). `covered`: (site, measure) -> the
    earliest go-live of a benefit on it; months from then on are not scanned.
    """
    covered = covered or {}
    s = series[["site_code", "measure_code", "month", "value"]].copy()
    s["value"] = pd.to_numeric(s["value"], errors="coerce")
    s = s.dropna(subset=["value"])
    s["month"] = pd.to_datetime(s["month"]).dt.date
    s = s.sort_values(["site_code", "measure_code", "month"], kind="stable").reset_index(drop=True)
    if s.empty:
        return pd.DataFrame(columns=COLUMNS)
    key = s["site_code"].astype(str) + "\x1f" + s["measure_code"].astype(str)
    kv = key.to_numpy()
    bounds = np.flatnonzero(np.concatenate([[True], kv[1:] != kv[:-1], [True]]))
    months_all = s["month"].to_numpy()
    values = s["value"].to_numpy(dtype=float)
    sites, measures = s["site_code"].to_numpy(), s["measure_code"].to_numpy()
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        site, measure = str(sites[a]), str(measures[a])
        ms = list(months_all[a:b])
        ys = values[a:b]
        stop = covered.get((site, measure))
        if stop is not None:
            keep = np.array([m < stop for m in ms], dtype=bool)
            ms, ys = [m for m, k in zip(ms, keep) if k], ys[keep]
        sign = S.direction_sign(directions.get((site, measure), directions.get(measure, "neutral")))
        for r in scan_series(ms, ys, sign, settings):
            r.update(site_code=site, measure_code=measure, covered_from=stop, description=_describe(r, measure))
            rows.append(r)
    return pd.DataFrame(rows, columns=COLUMNS)
