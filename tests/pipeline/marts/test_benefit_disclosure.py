"""National benefit tables against an intruder who differences their running sums and means.

The national mart withholds a benefit's small-count months (fact_benefit_spc.suppressed), but
fact_benefit also publishes figures over windows of months: a running sum since go-live on every
as-of row, and the means of the baseline and of the current process. Two rows whose windows differ
by one withheld month give that month away, so those figures must be withheld too.
"""

from __future__ import annotations

import pandas as pd
import pytest

KEY = ["site_code", "benefit_id"]


def _dates(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        frame[c] = pd.to_datetime(frame[c]).dt.date
    return frame


def observed_totals(fact: pd.DataFrame) -> pd.Series:
    """What a reader can get observed_since_go_live back from: the column itself, or the benefit
    and its value against the (published) counterfactual."""
    sign = fact["improvement_direction"].map({"lower": -1.0, "higher": 1.0})
    cf = fact["counterfactual_since_go_live"]
    units = fact["cumulative_benefit"].fillna(fact["value_gbp"] / fact["gbp_per_unit"])
    from_benefit = cf + units * sign
    return fact["observed_since_go_live"].fillna(from_benefit)


def difference_attack(fact: pd.DataFrame, spc: pd.DataFrame) -> dict[tuple, float]:
    """{(site, benefit, month): numerator} for withheld months found from two as-of rows' totals:
    total(b) - total(a) minus the published numerators between them, when exactly one month between
    them is withheld (a may be 'before go-live', where the total is 0)."""
    found: dict[tuple, float] = {}
    fact = fact.assign(obs_total=observed_totals(fact))
    for (site, benefit), rows in fact.groupby(KEY, sort=False):
        points = spc[(spc["site_code"] == site) & (spc["benefit_id"] == benefit)].set_index("month")
        rows = rows.sort_values("as_of_month")
        go = rows["go_live_month"].iloc[0]
        totals = [(None, 0.0)] + [(r.as_of_month, r.obs_total) for r in rows.itertuples() if pd.notna(r.obs_total)]
        for i, (a, ta) in enumerate(totals):
            for b, tb in totals[i + 1 :]:
                between = points[(points.index > (a or pd.Timestamp.min.date())) & (points.index <= b)
                                 & (points.index >= go)]  # fmt: skip
                unknown = between[between["suppressed"]]
                if len(unknown) == 1:
                    found[(site, benefit, unknown.index[0])] = tb - ta - between.loc[~between["suppressed"], "numerator"].sum()
    return found


def national(wh) -> tuple[pd.DataFrame, pd.DataFrame]:
    fact = _dates(wh.query("select * from national.fact_benefit"), "as_of_month", "go_live_month", "baseline_start",
                  "baseline_end")  # fmt: skip
    spc = _dates(wh.query("select * from national.fact_benefit_spc"), "month")
    return fact, spc


def test_withheld_numerators_cannot_be_recovered_from_running_sums(duck):
    fact, spc = national(duck.wh)
    truth = _dates(duck.wh.query("select site_code, benefit_id, month, numerator from measures.fact_benefit_spc_all"),
                   "month").set_index([*KEY, "month"])["numerator"]  # fmt: skip
    withheld = spc[spc["suppressed"]].merge(fact[[*KEY, "go_live_month"]].drop_duplicates(), on=KEY)
    after = withheld[withheld["month"] >= withheld["go_live_month"]]
    assert len(after), "the demo should withhold some month after a national benefit's go-live"

    # The attack is sound: on the local copies (everything published) it gets the true counts.
    local = _dates(duck.wh.query("select * from measures.fact_benefit_all where scope = 'national'"),
                   "as_of_month", "go_live_month")  # fmt: skip
    local_spc = spc.drop(columns=["numerator"]).merge(truth.reset_index(), on=[*KEY, "month"])
    recovered = difference_attack(local, local_spc)
    assert recovered
    for key, value in recovered.items():
        assert value == pytest.approx(truth[key], abs=1e-6), key

    leaked = difference_attack(fact, spc)
    assert leaked == {}, f"withheld numerators recovered from national.fact_benefit: {leaked}"


def _touches(months: set, start, end) -> bool:
    return any(start <= m <= end for m in months)


def test_no_published_mean_or_total_covers_a_withheld_month(duck):
    fact, spc = national(duck.wh)
    withheld = {k: set(g["month"]) for k, g in spc[spc["suppressed"]].groupby(KEY)}
    assert withheld
    checked = 0
    for r in fact.itertuples():
        months = withheld.get((r.site_code, r.benefit_id), set())
        if not months:
            continue
        checked += 1
        if _touches(months, r.baseline_start, r.baseline_end):
            assert pd.isna(r.baseline_mean) and pd.isna(r.baseline_upl) and pd.isna(r.change_abs), r
        ramp_end = (pd.Timestamp(r.go_live_month) + pd.DateOffset(months=int(r.ramp_months))).date()
        current_from = ramp_end if r.as_of_month >= ramp_end else r.go_live_month
        if _touches(months, current_from, r.as_of_month):
            assert pd.isna(r.current_mean) and pd.isna(r.current_lpl) and pd.isna(r.current_upl), r
        if _touches(months, r.go_live_month, r.as_of_month):
            for c in ("observed_since_go_live", "cumulative_benefit", "cumulative_benefit_low", "value_gbp",
                      "value_gbp_high", "value_evidenced_gbp", "disbenefit_cost_gbp"):  # fmt: skip
                assert pd.isna(getattr(r, c)), (c, r)
            assert pd.notna(r.counterfactual_since_go_live) or pd.isna(r.level_change)  # model-based: kept
            assert "withheld" in r.status_reason
    assert checked
    for col, limits in (("spc_group", ("mean", "lpl", "upl", "near_lpl", "near_upl")),
                        ("rebased_group", ("rebased_mean", "rebased_lpl", "rebased_upl", "rebased_near_lpl",
                                           "rebased_near_upl"))):  # fmt: skip
        # A chart's limits come from the months it computes them over (in_limits on the baseline chart).
        over = spc["suppressed"] & (spc["in_limits"] if col == "spc_group" else True)
        touched = over.groupby([spc[k] for k in [*KEY, col]]).transform("any")
        assert spc.loc[touched, list(limits)].isna().all().all(), col
        assert spc.loc[~touched, limits[0]].notna().any(), col

    # The local copy keeps everything.
    local = duck.wh.query("select baseline_mean, observed_since_go_live from measures.fact_benefit_all "
                          "where counterfactual_since_go_live is not null")  # fmt: skip
    assert len(local) and local.notna().all().all()
