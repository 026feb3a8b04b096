"""One benefit evaluated against its measure: status timeline, ITS, cumulative benefit, edge cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from benefits.evaluate import FACT_BENEFIT_COLUMNS, FACT_BENEFIT_SPC_COLUMNS, MeasureSpec, evaluate_benefit
from benefits.register import Benefit, RegisterError, load_register
from benefits.status import STATUSES
from pipeline.marts.build import measure_lookup
from pipeline.simulator import simulate_measure_series
from tests.benefits.synthetic import months_from

MONTHS = months_from(dt.date(2016, 4, 1), 48)
GO = MONTHS[24]
OMITTED = "omitted_critical_doses_rate"


def spec(code=OMITTED) -> MeasureSpec:
    return MeasureSpec.of(measure_lookup()[code])


def series(rate_ratio=0.6, seed=1, measure=OMITTED, ramp=3, scale=0.2, months=MONTHS, go=GO) -> pd.DataFrame:
    df = simulate_measure_series(measure, months, rate_ratio=rate_ratio, go_live=go, ramp_months=ramp, scale=scale, seed=seed)
    return df.assign(value=df["numerator"] * spec(measure).multiplier / df["denominator"])


def benefit(**kw) -> Benefit:
    base = dict(
        id="B-1", title="Fewer omitted doses", measure=OMITTED, go_live=GO, ramp_months=3,
        baseline={"start": MONTHS[0], "end": MONTHS[23]}, target={"value": 0.06, "date": MONTHS[36]},
        scope="national",
        valuation={"type": "non_cash_releasing", "gbp_per_unit": 25.0, "unit": "omission avoided", "source": "test"},
    )  # fmt: skip
    base.update(kw)
    return Benefit(**base)


@pytest.fixture(scope="module")
def large_effect():
    return evaluate_benefit(series(), benefit(), "T01", spec())


def test_one_row_per_month_since_go_live_with_every_column(large_effect):
    fact = large_effect.fact
    assert list(fact["as_of_month"]) == MONTHS[24:]
    assert set(FACT_BENEFIT_COLUMNS) <= set(fact.columns)
    assert fact["is_latest"].tolist() == [False] * 23 + [True]
    assert list(large_effect.spc.columns) == list(FACT_BENEFIT_SPC_COLUMNS)
    assert list(large_effect.spc["month"]) == MONTHS


def test_status_timeline_of_a_large_effect(large_effect):
    fact = large_effect.fact.set_index("as_of_month")
    assert fact.loc[MONTHS[24], "status"] == "insufficient_data"
    assert "only 1 month of data since go-live" in fact.loc[MONTHS[24], "status_reason"]
    statuses = list(fact["status"])
    assert statuses[-1] == "realised"
    first_realised = statuses.index("realised")
    assert set(statuses[:first_realised]) <= {"insufficient_data", "emerging"}
    assert set(statuses[first_realised:]) == {"realised"}  # once published, it does not flip back
    # the published status lags the month's own verdict by the persistence rule, never leads it
    signals = list(fact["status_signal"])
    assert signals.index("realised") + 2 == first_realised
    latest = fact.iloc[-1]
    assert latest["variation"] == "special_cause_improvement" and latest["improvement_streak"] >= 6
    assert latest["status_reason"].startswith("ITS: ") and "lower than expected" in latest["status_reason"]
    assert "target 0.06 met (average" in latest["status_reason"]
    assert f"SPC: special-cause improvement against the baseline mean for {latest['improvement_streak']} months" in latest["status_reason"]
    assert latest["effect_evidence"] == "better" and latest["value_evidenced_gbp"] == latest["value_gbp"] > 0
    assert latest["target_met"] and latest["current_mean"] <= 0.06


def test_its_and_cumulative_benefit(large_effect):
    latest = large_effect.fact.iloc[-1]
    assert latest["its_effect_scale"] == "rate_ratio"
    assert latest["level_change_low"] < 0.6 < latest["level_change_high"]
    assert latest["its_points_pre"] == 24 and latest["its_points_post"] == 21
    assert "quasi-Poisson" in latest["its_model"] and "3 ramp-in month(s) excluded" in latest["its_model"]
    assert latest["slope_change_low"] < 1 < latest["slope_change_high"]  # reported from the extended model
    avoided = latest["counterfactual_since_go_live"] - latest["observed_since_go_live"]
    assert latest["cumulative_benefit"] == pytest.approx(avoided)
    assert latest["cumulative_benefit_low"] < latest["cumulative_benefit"] < latest["cumulative_benefit_high"]
    assert latest["cumulative_benefit_low"] > 0
    assert latest["value_gbp"] == pytest.approx(25.0 * latest["cumulative_benefit"])
    assert latest["value_non_cash_releasing_gbp"] == latest["value_gbp"] and latest["value_cash_releasing_gbp"] == 0
    assert latest["benefit_unit"] == "omission avoided"
    # Cumulative benefit grows month by month once the effect is in.
    cum = large_effect.fact["cumulative_benefit"].dropna().to_numpy()
    assert (np.diff(cum[3:]) > 0).mean() > 0.8


def test_each_month_uses_only_data_up_to_it(large_effect):
    s = series()
    for m in (26, 31, 40):
        early = evaluate_benefit(s.iloc[: m + 1], benefit(), "T01", spec()).fact.iloc[-1]
        row = large_effect.fact.set_index("as_of_month").loc[MONTHS[m]]
        for col in ("status", "status_reason", "variation", "assurance", "improvement_streak", "level_change",
                    "cumulative_benefit", "current_mean", "target_met"):  # fmt: skip
            a, b = early[col], row[col]
            assert a == pytest.approx(b, nan_ok=True) if isinstance(a, float) else a == b, (m, col)


def test_spc_rows_hold_both_charts_and_the_counterfactual(large_effect):
    spc = large_effect.spc.set_index("month")
    base = spc.loc[MONTHS[:24]]
    assert (base["segment"] == "baseline").all() and base["in_limits"].all()
    assert spc.loc[MONTHS[24:27], "segment"].eq("ramp_in").all()
    assert spc.loc[MONTHS[27:], "segment"].eq("post_go_live").all()
    assert spc["mean"].nunique() == 1  # baseline limits extended
    assert spc["rebased_group"].tolist() == [1] * 24 + [2] * 3 + [3] * 21
    assert spc.loc[MONTHS[30], "rebased_mean"] < spc.loc[MONTHS[0], "rebased_mean"]
    assert spc.loc[MONTHS[:24], "its_counterfactual"].isna().all()
    assert spc.loc[MONTHS[24:], "its_counterfactual"].notna().all()
    assert not spc.loc[MONTHS[24:27], "its_in_fit"].any()
    post = spc.loc[MONTHS[27:]]
    assert (post["its_counterfactual"] > post["its_fitted"]).all()
    assert (post["point_type"] == "special_cause_improvement").mean() > 0.9


def test_disbenefit():
    ev = evaluate_benefit(series(rate_ratio=1.5, seed=4), benefit(kind="disbenefit"), "T01", spec())
    latest = ev.fact.iloc[-1]
    assert latest["status"] == "disbenefit" and latest["variation"] == "special_cause_concern"
    assert "worse in the planned direction; SPC: special-cause concern" in latest["status_reason"]
    assert latest["cumulative_benefit_high"] < 0 and latest["value_gbp"] < 0
    # a harm is a cost, never a negative value in the headline
    assert latest["value_evidenced_gbp"] == 0 and latest["disbenefit_cost_gbp"] == -latest["value_gbp"] > 0


def test_no_effect_is_not_called_a_benefit():
    statuses = [evaluate_benefit(series(rate_ratio=1.0, seed=s), benefit(), "T01", spec()).fact.iloc[-1]["status"] for s in range(8)]
    assert statuses.count("realised") + statuses.count("emerging") <= 1


def test_go_live_at_the_first_point_has_no_baseline():
    s = series(months=MONTHS, go=MONTHS[0])
    b = benefit(go_live=MONTHS[0], baseline={"start": "2015-01", "end": "2016-03"}, target=None)
    fact = evaluate_benefit(s, b, "T01", spec()).fact
    assert len(fact) == 48 and (fact["status"] == "insufficient_data").all()
    assert fact["status_reason"].iloc[-1] == "only 0 months of baseline data; SPC limits need at least 12"
    assert fact["level_change"].isna().all()


def test_go_live_at_the_last_point():
    b = benefit(go_live=MONTHS[-1], baseline={"start": MONTHS[0], "end": MONTHS[-2]}, target=None)
    ev = evaluate_benefit(series(rate_ratio=1.0), b, "T01", spec())
    assert len(ev.fact) == 1 and ev.fact["as_of_month"].iloc[0] == MONTHS[-1]
    assert ev.fact["status"].iloc[0] == "insufficient_data" and ev.fact["post_go_live_months"].iloc[0] == 1


def test_go_live_after_the_data_and_no_data():
    b = benefit(go_live="2030-01", baseline={"start": MONTHS[0], "end": "2029-12"}, target=None)
    fact = evaluate_benefit(series(rate_ratio=1.0), b, "T01", spec()).fact
    assert len(fact) == 1 and fact["as_of_month"].iloc[0] == MONTHS[-1]
    assert fact["status"].iloc[0] == "insufficient_data" and fact["post_go_live_months"].iloc[0] == 0
    empty = evaluate_benefit(series().iloc[0:0], benefit(), "T01", spec())
    assert len(empty.fact) == 1 and empty.fact["status_reason"].iloc[0] == "no data for this measure"


def test_missing_months_and_zero_counts():
    s = series(measure="patient_id_incidents_per_1000_bed_days", scale=0.01, rate_ratio=0.6, seed=2)
    s = s.drop(index=[5, 30]).reset_index(drop=True)  # two months never reported
    assert (s["numerator"] == 0).any()
    b = benefit(measure="patient_id_incidents_per_1000_bed_days", target=None)
    ev = evaluate_benefit(s, b, "T01", spec("patient_id_incidents_per_1000_bed_days"))
    assert len(ev.spc) == 46 and MONTHS[30] not in set(ev.spc["month"])
    assert len(ev.fact) == 23  # as-of rows are months with data
    assert ev.fact["status"].isin(STATUSES).all()


def test_neutral_measure_is_never_a_benefit():
    s = series(rate_ratio=0.6).assign(value=lambda d: d["numerator"])
    b = benefit(measure="bed_days", target=None, valuation=None)
    fact = evaluate_benefit(s, b, "T01", spec("bed_days")).fact
    assert fact["improvement_direction"].iloc[-1] == "neutral"
    assert fact["status"].iloc[-1] == "not_yet_evident"
    assert "no improvement direction" in fact["status_reason"].iloc[-1]
    assert fact["cumulative_benefit"].isna().all() and fact["assurance"].isna().all()


def test_direction_override_and_cash_releasing():
    b = benefit(
        direction="higher", target=None,
        valuation={"type": "cash_releasing", "gbp_per_unit": 10.0, "unit": "dose", "source": "test"},
    )  # fmt: skip
    latest = evaluate_benefit(series(), b, "T01", spec()).fact.iloc[-1]
    assert latest["improvement_direction"] == "higher" and latest["status"] == "disbenefit"
    assert latest["value_cash_releasing_gbp"] == latest["value_gbp"] < 0
    assert latest["value_non_cash_releasing_gbp"] == 0


def test_register_file_errors_name_file_and_field(tmp_path):
    path = tmp_path / "register.yaml"
    path.write_text(
        "benefits:\n- id: A\n  title: t\n  measure: m\n  go_live: 2018-01\n  baseline: {start: 2017-01, end: 2018-03}\n"
    )
    with pytest.raises(RegisterError) as e:
        load_register(path)
    assert "register.yaml: benefits.0: baseline must end before go-live (2018-01)" in str(e.value)
    path.write_text(
        "- id: A\n  title: t\n  measure: m\n  go_live: 2018-01\n  baseline: {start: 2017-01, end: 2017-12}\n"
        "  target: {value: 1, date: 2017-06}\n"
    )
    with pytest.raises(RegisterError, match=r"benefits.0: target date 2017-06 is before go-live"):
        load_register(path)
    path.write_text(
        "- id: A\n  title: t\n  measure: m\n  go_live: 2018-01\n  baseline: {start: 2017-01, end: 2017-12}\n"
        "  analysis: {seasonality: 9}\n  kind: disbenefit\n"
    )
    with pytest.raises(RegisterError, match=r"benefits.0.analysis.seasonality"):
        load_register(path)
    path.write_text(
        "- id: A\n  title: t\n  measure: m\n  go_live: 2018-01\n  baseline: {start: 2017-01, end: 2017-12}\n"
        "  kind: unanticipated_benefit\n  analysis: {slope_change: true}\n"
    )
    (b,) = load_register(path)
    assert b.kind == "unanticipated_benefit" and b.analysis.slope_change is True
