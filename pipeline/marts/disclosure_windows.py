"""Which published benefit figures are computed over which months, for the national mart's window rule.

A figure over a window of months (a mean, a process limit, a running total) that holds a month
the national mart withholds gives that month away: two windows that differ by it, or the window
less its published months, leave it alone. So the national copies withhold every such figure
(pipeline/marts/realise.py) and the collector re-checks that packages did (pipeline/federation/verify.py).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

# fact_benefit's figures over windows of months, which a withheld month in the window withholds.
BASELINE_FIGURES = ("baseline_mean", "baseline_lpl", "baseline_upl", "change_abs", "change_pct")
CURRENT_FIGURES = ("current_mean", "current_lpl", "current_upl")
# Running sums: a window from go-live to each as-of month, so two rows' difference is the months
# between them; withheld on every row from the first withheld month on. The ITS effects and the
# counterfactual are model estimates and stay.
RUNNING_FIGURES = (
    "observed_since_go_live", "cumulative_benefit", "cumulative_benefit_low", "cumulative_benefit_high",
    "value_gbp", "value_gbp_low", "value_gbp_high", "value_cash_releasing_gbp", "value_non_cash_releasing_gbp",
    "value_evidenced_gbp", "disbenefit_cost_gbp",
)  # fmt: skip
# fact_benefit_spc: (limit columns, the chart's group column, the column marking the months its
# limits come from; None: all of the group's months).
SPC_WINDOWS = (
    (("mean", "lpl", "upl", "near_lpl", "near_upl"), "spc_group", "in_limits"),
    (("rebased_mean", "rebased_lpl", "rebased_upl", "rebased_near_lpl", "rebased_near_upl"), "rebased_group", None),
)


def fact_windows(fact: pd.DataFrame) -> dict[str, tuple[tuple[str, ...], pd.Series, pd.Series]]:
    """What each window figure of fact_benefit is computed over, per row: {words: (columns, first, last)}."""
    as_of = pd.to_datetime(fact["as_of_month"])
    go = pd.to_datetime(fact["go_live_month"])
    ramp_end = pd.Series([g + pd.DateOffset(months=int(r or 0)) for g, r in zip(go, fact["ramp_months"])], index=fact.index)
    # The current process is the rebased group as_of falls in (evaluate.evaluate_benefit).
    base = pd.to_datetime(fact["baseline_start"])
    current = ramp_end.where(as_of >= ramp_end, go.where(as_of >= go, base.where(as_of >= base)))
    return {
        "the baseline figures": (BASELINE_FIGURES, fact["baseline_start"], fact["baseline_end"]),
        "the current process figures": (CURRENT_FIGURES, current, fact["as_of_month"]),
        "the totals and values since go-live": (RUNNING_FIGURES, fact["go_live_month"], fact["as_of_month"]),
    }


def spc_windows(spc: pd.DataFrame) -> dict[tuple[str, ...], tuple[pd.Series, pd.Series]]:
    """Per SPC_WINDOWS entry, the first and last month its limits are computed over, per row."""
    out = {}
    for columns, group, limits_from in SPC_WINDOWS:
        counted = spc[limits_from].astype(bool) if limits_from else pd.Series(True, index=spc.index)
        rows = pd.to_datetime(spc["month"]).where(counted)
        keys = [spc["site_code"], spc["benefit_id"], spc[group]]
        out[columns] = (rows.groupby(keys).transform("min"), rows.groupby(keys).transform("max"))
    return out


def months_by_series(withheld: set[tuple]) -> dict[tuple, list[dt.date]]:
    by_series: dict[tuple, list[dt.date]] = {}
    for site, measure, m in withheld:
        by_series.setdefault((site, measure), []).append(pd.Timestamp(m).date())
    return by_series


def covers(frame: pd.DataFrame, by_series: dict[tuple, list[dt.date]], first, last) -> np.ndarray:
    """Rows whose window [first, last] (per row; a missing first is open) holds a withheld month of
    their site and measure. A missing last: no window, so nothing is covered."""
    n = len(frame)
    if not n or not by_series:
        return np.zeros(n, dtype=bool)
    firsts = pd.Series(first, index=frame.index) if first is not None else pd.Series(pd.NaT, index=frame.index)
    firsts, lasts = pd.to_datetime(firsts), pd.to_datetime(pd.Series(last, index=frame.index))
    out = np.zeros(n, dtype=bool)
    for i, (site, measure, a, b) in enumerate(zip(frame["site_code"], frame["measure_code"], firsts, lasts)):
        months = by_series.get((site, measure))
        if not months or pd.isna(b):
            continue
        lo, hi = (dt.date.min if pd.isna(a) else a.date()), b.date()
        out[i] = any(lo <= m <= hi for m in months)
    return out


def shown_over_withheld(fact: pd.DataFrame, spc: pd.DataFrame) -> tuple[str, int, str] | None:
    """The first figure given over a window that holds a withheld month (the SPC points' `suppressed`
    months): (fact or spc, row position, column); None when every such figure is withheld."""
    hidden = spc[spc["suppressed"].fillna(False).astype(bool)]
    by_series = months_by_series(set(zip(hidden["site_code"], hidden["measure_code"], hidden["month"])))
    if not by_series:
        return None
    checks = [("fact", fact, columns, start, end) for columns, start, end in fact_windows(fact).values()] if len(fact) else []
    checks += [("spc", spc, columns, start, end) for columns, (start, end) in spc_windows(spc).items()]
    for which, frame, columns, start, end in checks:
        over = covers(frame, by_series, start, end)
        for c in columns:
            shown = np.flatnonzero(over & frame[c].notna().to_numpy())
            if len(shown):
                return which, int(shown[0]), c
    return None
