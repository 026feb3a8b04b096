"""Controlled ITS: a change every site saw is not credited to one site's system."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from benefits.evaluate import Comparator, MeasureSpec, evaluate_benefit
from benefits.register import Benefit
from pipeline.marts.build import measure_lookup
from pipeline.simulator import simulate_measure_series
from tests.benefits.synthetic import months_from

MONTHS = months_from(dt.date(2016, 4, 1), 40)
GO = MONTHS[16]
MEASURE = "omitted_critical_doses_rate"


def _site(seed: int, ratio: float) -> pd.DataFrame:
    # A national shock at GO (ratio 0.85, over 2 months) that every site sees.
    s = simulate_measure_series(MEASURE, MONTHS, rate_ratio=ratio, go_live=GO, ramp_months=2, scale=0.3, seed=seed)
    return s.assign(value=s["numerator"] / s["denominator"])


def _comparator(seeds) -> Comparator:
    panel = pd.concat([_site(seed, 0.85) for seed in seeds])
    per = panel.groupby("month")[["numerator", "denominator"]].sum()
    return Comparator(tuple(per.index), tuple(per["numerator"] / per["denominator"]), "12 simulated sites")


def test_a_shared_shock_is_not_the_sites_effect():
    spec = MeasureSpec.of(measure_lookup()[MEASURE])
    b = Benefit(id="B", title="t", measure=MEASURE, go_live=GO, ramp_months=2,
                baseline={"start": MONTHS[0], "end": MONTHS[15]})  # fmt: skip
    comparator = _comparator(range(100, 112))
    plain_hits = controlled_hits = 0
    for seed in range(8):
        site = _site(seed, 0.85)  # the shock only: the site's own system did nothing
        plain = evaluate_benefit(site, b, "T01", spec).fact.iloc[-1]
        controlled = evaluate_benefit(site, b, "T01", spec, comparator=comparator).fact.iloc[-1]
        assert "relative to 12 simulated sites" in controlled["its_model"]
        plain_hits += plain["effect_evidence"] == "better"
        controlled_hits += controlled["effect_evidence"] == "better"
        assert abs(controlled["effect_latest"] - 1) < abs(plain["effect_latest"] - 1)
    assert plain_hits >= 6 and controlled_hits <= 1


def test_the_comparator_can_be_switched_off_and_needs_every_fitted_month():
    spec = MeasureSpec.of(measure_lookup()[MEASURE])
    b = Benefit(id="B", title="t", measure=MEASURE, go_live=GO, ramp_months=2,
                baseline={"start": MONTHS[0], "end": MONTHS[15]}, analysis={"comparator": False})  # fmt: skip
    comparator = _comparator(range(100, 112))
    fact = evaluate_benefit(_site(1, 0.85), b, "T01", spec, comparator=comparator).fact
    assert "relative to" not in fact["its_model"].iloc[-1]
    gappy = Comparator(comparator.months[1:], comparator.rate[1:], "gappy")
    b2 = Benefit(**{**b.model_dump(), "analysis": None})
    fact = evaluate_benefit(_site(1, 0.85), b2, "T01", spec, comparator=gappy).fact
    assert "relative to" not in fact["its_model"].iloc[-1]
