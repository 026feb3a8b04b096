"""The status decision table, the persistence rule, evidenced value and measure maturity."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from benefits.evaluate import MeasureSpec, evaluate_benefit
from benefits.register import Benefit
from benefits.status import STATUSES, StatusInputs, StatusRules, assess, hold
from pipeline.marts.build import measure_lookup
from pipeline.simulator import simulate_measure_series
from tests.benefits.synthetic import months_from

RULES = StatusRules()


def inputs(**kw) -> StatusInputs:
    """A lower-is-better count measure, 10 months after go-live, ITS 30% lower (CI 20-40%) for 8 months."""
    base = dict(
        as_of=dt.date(2018, 10, 1), go_live=dt.date(2018, 1, 1), baseline_points=20, post_points=10, sign=-1,
        baseline_mean=0.07, latest_value=0.05, latest_month=dt.date(2018, 10, 1), latest_rule=0, latest_side=0,
        improvement_streak=0, concern_streak=0, improvement_months=0, concern_months=0, target=None,
        target_month=None, target_met=None, current_mean=0.05, current_since=dt.date(2018, 4, 1),
        its_effect=0.7, its_low=0.6, its_high=0.8, its_scale="rate_ratio", evidence_streak=8,
        baseline_events=400.0, latest_events=30.0,
    )  # fmt: skip
    base.update(kw)
    return StatusInputs(**base)


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"baseline_points": 8}, "insufficient_data", "only 8 months of baseline data"),
        ({"post_points": 2}, "insufficient_data", "only 2 months of data since go-live"),
        ({"sign": 0}, "not_yet_evident", "no improvement direction"),
        ({"baseline_events": 12.0}, "insufficient_data", "only 12 events in the baseline"),
        ({"its_effect": None, "its_low": None, "its_high": None, "its_note": "not estimable: no events before or after go-live"},
         "insufficient_data", "cannot be estimated yet (not estimable: no events"),
        ({"its_effect": 1.3, "its_low": 1.1, "its_high": 1.5}, "disbenefit", "30% higher than expected"),
        ({}, "realised", "30% lower than expected without the change (95% CI 40% lower to 20% lower) for 8 months"),
        ({"evidence_streak": 2}, "emerging", "realised once shown for 6 months (2 months so far)"),
        ({"latest_events": 0.0}, "emerging", "no events in Oct 2018, which is not counted as evidence"),
        ({"target": 0.04, "target_met": False}, "emerging", "target 0.04 not yet met"),
        ({"its_low": 0.5, "its_high": 1.1, "target": 0.06, "target_met": True}, "target_met_unattributed",
         "target 0.06 met (average 0.05"),
        ({"its_low": 0.5, "its_high": 1.1}, "not_yet_evident", "no change beyond what was expected"),
    ],
)
def test_decision_table(change, status, words):
    got, reason, public = assess(inputs(**change), RULES)
    assert got == status and got in STATUSES
    assert words in reason, reason
    assert "latest 0.05" not in public  # the published form never carries the month's value


def test_spc_and_its_disagreeing_are_both_said():
    """SPC concern against the baseline while the ITS finds a benefit (a trend under way): the
    status follows the ITS, the reason says why the chart looks otherwise."""
    _, reason, _ = assess(inputs(concern_streak=10, latest_side=1, latest_rule=1), RULES)
    assert "SPC: special-cause concern against the baseline mean for 10 months" in reason
    assert "the ITS with the trend and season expected without the change" in reason


def test_hold_publishes_a_status_only_once_it_persists():
    signals = list("IIEEREEERRRRNR")
    held = [s for s, _ in hold(signals, 3)]
    assert "".join(held) == "IIIIIIIEEERRRR"
    pending = [run for _, run in hold(signals, 3)]
    assert pending[2:7] == [1, 2, 1, 1, 2] and pending[12:] == [1, 0]
    assert [s for s, _ in hold(signals, 1)] == signals


MONTHS = months_from(dt.date(2016, 4, 1), 48)


def _run(measure: str, ratio: float, seed: int, **kw) -> pd.DataFrame:
    spec = MeasureSpec.of(measure_lookup()[measure])
    s = simulate_measure_series(measure, MONTHS, rate_ratio=ratio, go_live=MONTHS[24], ramp_months=3, scale=0.2, seed=seed)
    s["value"] = s["numerator"] * spec.multiplier / s["denominator"]
    b = Benefit(
        id="B", title="t", measure=measure, go_live=MONTHS[24], ramp_months=3,
        baseline={"start": MONTHS[0], "end": MONTHS[23]},
        valuation={"type": "cash_releasing", "gbp_per_unit": 10.0, "unit": "event", "source": "test"}, **kw,
    )  # fmt: skip
    return evaluate_benefit(s, b, "T01", spec).fact


def test_value_evidenced_counts_only_evidenced_benefit():
    """Under no effect, the point value is positive or negative by chance: the evidenced value is
    0 unless the CI excludes no change, and never below 0."""
    rows = pd.concat([_run("omitted_critical_doses_rate", 1.0, seed).iloc[[-1]] for seed in range(12)])
    assert (rows["value_gbp"] < 0).any() and (rows["value_gbp"] > 0).any()
    assert (rows["value_evidenced_gbp"] >= 0).all() and (rows["disbenefit_cost_gbp"] >= 0).all()
    evidenced = rows["effect_evidence"] == "better"
    assert (rows.loc[~evidenced, "value_evidenced_gbp"] == 0).all()
    assert (rows.loc[evidenced, "value_evidenced_gbp"] == rows.loc[evidenced, "value_gbp"]).all()
    assert evidenced.sum() <= 2  # about 5% of 12 under the null
    effect = _run("omitted_critical_doses_rate", 0.7, 3).iloc[-1]
    assert effect["effect_evidence"] == "better" and effect["value_evidenced_gbp"] == effect["value_gbp"] > 0


def test_no_realised_on_zero_events():
    """A rare event measure: months with zero events are never 'realised' by the month's own
    verdict, and the ITS cannot be fitted when there are no events after go-live."""
    measure = "patient_id_incidents_per_1000_bed_days"
    spec = MeasureSpec.of(measure_lookup()[measure])
    s = simulate_measure_series(measure, MONTHS, rate_ratio=0.3, go_live=MONTHS[24], ramp_months=3, scale=0.05, seed=5)
    s["value"] = s["numerator"] * spec.multiplier / s["denominator"]
    b = Benefit(id="B", title="t", measure=measure, go_live=MONTHS[24], ramp_months=3,
                baseline={"start": MONTHS[0], "end": MONTHS[23]})  # fmt: skip
    fact = evaluate_benefit(s, b, "T01", spec).fact
    zero = fact["as_of_month"].map(dict(zip(s["month"], s["numerator"]))) == 0
    assert zero.any()
    assert not (fact.loc[zero, "status_signal"] == "realised").any()
    none_after = s.assign(numerator=np.where(s["month"] >= MONTHS[24], 0, s["numerator"]))
    none_after["value"] = none_after["numerator"] * spec.multiplier / none_after["denominator"]
    fact = evaluate_benefit(none_after, b, "T01", spec).fact
    assert (fact["status"] == "insufficient_data").all()
    assert "no events before or after go-live" in fact["status_reason"].iloc[-1]


def test_maturity_leaves_incomplete_months_out_of_the_estimates():
    """Readmissions need 30 days: the latest month is provisional and out of the fit; LOS warm-up
    months are out of the baseline limits."""
    readmit = dataclasses.replace(MeasureSpec.of(measure_lookup()["emergency_readmission_30d_rate"]))
    assert readmit.mature_after_days == 30 and readmit.warm_up_months == 2
    s = simulate_measure_series(readmit.code, MONTHS, rate_ratio=1.0, go_live=MONTHS[24], ramp_months=1, scale=0.2, seed=2)
    s["value"] = s["numerator"] / s["denominator"]
    b = Benefit(id="B", title="t", measure=readmit.code, go_live=MONTHS[24], baseline={"start": MONTHS[0], "end": MONTHS[23]})
    ev = evaluate_benefit(s, b, "T01", readmit)
    spc, fact = ev.spc, ev.fact
    assert spc["provisional"].tolist() == [True, True] + [False] * 45 + [True]
    latest = fact.iloc[-1]
    assert latest["latest_provisional"] and latest["baseline_months"] == 22
    assert latest["its_points_pre"] == 22 and latest["its_points_post"] == 23
    # a collapse in the provisional month (readmissions not yet seen) moves no estimate
    dropped = s.copy()
    dropped.loc[dropped.index[-1], "numerator"] = 0
    dropped["value"] = dropped["numerator"] / dropped["denominator"]
    again = evaluate_benefit(dropped, b, "T01", readmit).fact.iloc[-1]
    for col in ("effect_latest", "effect_latest_low", "cumulative_benefit"):
        assert again[col] == pytest.approx(latest[col])


def test_a_trend_is_fitted_from_ten_baseline_months_and_not_below():
    spec = MeasureSpec.of(measure_lookup()["omitted_critical_doses_rate"])
    s = simulate_measure_series(spec.code, MONTHS, rate_ratio=0.7, go_live=MONTHS[14], ramp_months=3, scale=0.2, seed=1)
    s["value"] = s["numerator"] / s["denominator"]
    b = Benefit(id="B", title="t", measure=spec.code, go_live=MONTHS[14], ramp_months=3,
                baseline={"start": MONTHS[0], "end": MONTHS[13]})  # fmt: skip
    latest = evaluate_benefit(s, b, "T01", spec).fact.iloc[-1]
    assert "secular trend," in latest["its_model"]
    ten = Benefit(**{**b.model_dump(), "baseline": {"start": MONTHS[4], "end": MONTHS[13]}})
    assert "secular trend," in evaluate_benefit(s, ten, "T01", spec).fact.iloc[-1]["its_model"]
    short = Benefit(**{**b.model_dump(), "baseline": {"start": MONTHS[5], "end": MONTHS[13]}})
    assert "no secular trend (fewer than 10 months before go-live)" in evaluate_benefit(s, short, "T01", spec).fact.iloc[-1]["its_model"]
    off = evaluate_benefit(s, Benefit(**{**b.model_dump(), "analysis": {"trend": False}}), "T01", spec).fact.iloc[-1]
    assert "no secular trend" in off["its_model"]


def test_a_warm_up_measure_on_a_year_of_baseline_keeps_its_trend():
    """Length of stay leaves its first 2 months out (warm-up), so a go-live 13 months into the
    extract leaves 11 fitted baseline months. Without a trend its counterfactual stayed at the
    baseline's level while the simulator's length of stay drifts down 0.1% a month: the 95%
    prediction interval of the cumulative total covered the realised counterfactual (the counts
    with the effect taken out) in 0.55 of 60 seeds at scale 0.5 (1.00 with the trend)."""
    spec = MeasureSpec.of(measure_lookup()["mean_los_emergency_days"])
    assert spec.warm_up_months == 2
    go = MONTHS[13]
    b = Benefit(id="L", title="los", measure=spec.code, go_live=go, ramp_months=1,
                baseline={"start": MONTHS[0], "end": MONTHS[12]})  # fmt: skip
    covered = []
    for seed in range(20):
        s = simulate_measure_series(spec.code, MONTHS[:42], rate_ratio=0.8, go_live=go, scale=0.5, seed=seed)
        s["value"] = s["numerator"] / s["denominator"]
        last = evaluate_benefit(s, b, "T01", spec).fact.iloc[-1]
        assert last["its_points_pre"] == 11 and "secular trend," in last["its_model"]
        post = s.iloc[13:]
        truth = float((post["numerator"] / post["effect_multiplier"]).sum())
        covered.append(last["counterfactual_low"] <= truth <= last["counterfactual_high"])
    assert np.mean(covered) >= 0.85


def test_ljung_box_matches_statsmodels():
    from statsmodels.stats.diagnostic import acorr_ljungbox

    from benefits.evaluate import ljung_box_p

    gen = np.random.default_rng(3)
    for x in (gen.normal(size=36), np.cumsum(gen.normal(size=36)), np.sin(np.arange(30) / 2) + gen.normal(0, 0.1, 30)):
        assert ljung_box_p(x) == pytest.approx(acorr_ljungbox(x, lags=[6]).lb_pvalue.iloc[0], rel=1e-9, abs=1e-15)
