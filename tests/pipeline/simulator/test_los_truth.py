"""Length of stay with its injected effect taken out, against the records (issue 13).

The simulator shortens a spell by the effect of its admission month while the measure counts it
in its discharge month. The validity harness took the effect out by discharge month
(numerator / that month's multiplier), which credited the effect to spells admitted before
go-live that left after it: the counterfactual of the go-live month was too high by about a
sixth at a 0.7 step, and the harness's cumulative truth with it.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pipeline.simulator import SimulationSpec, simulate_site
from tests.pipeline.simulator.test_simulator import SPELLS, clean_rows, read_dataset, to_contract, ts
from tests.support.bench import load_bench

MEASURE = "mean_los_emergency_days"


def _harness():
    return load_bench("bench_validity")


def test_los_without_effect_follows_the_admission_month(tmp_path):
    spec = SimulationSpec(
        ods_code="RLT01", trust_type="acute", seed=5, scale=0.05, start="2016-04", end="2018-03",
        datasets=(SPELLS,), effects=[{"measure": MEASURE, "go_live": "2017-08", "rate_ratio": 0.7, "ramp_months": 1}],
    )  # fmt: skip
    result = simulate_site(spec, tmp_path)
    gt = json.loads(result.ground_truth.read_text())["measures"][MEASURE]
    mult = {k: e["effect_multiplier"] for k, e in gt.items()}

    df = clean_rows(read_dataset(tmp_path, SPELLS, "local_csv"), SPELLS)
    admitted, discharged = ts(df.admitted_at), ts(df.discharged_at)
    em = (to_contract(df.admission_method, SPELLS, "admission_method") == "emergency") & discharged.notna()
    los = (discharged[em].dt.normalize() - admitted[em].dt.normalize()).dt.days
    without = (los / admitted[em].dt.strftime("%Y-%m").map(mult)).groupby(discharged[em].dt.strftime("%Y-%m")).sum()

    for month, e in gt.items():
        assert e["numerator_without_effect"] == pytest.approx(without.get(month, 0.0), abs=1e-6), month
    # The case exercises the difference: by discharge month the go-live month's counterfactual
    # would be well above the records' (spells admitted in July, not shortened, divided by 0.7).
    go = gt["2017-08"]
    assert go["numerator"] / go["effect_multiplier"] > 1.05 * go["numerator_without_effect"]

    h = _harness()
    cf, observed = h.truth_totals({"measures": {MEASURE: gt}}, MEASURE, dt.date(2017, 8, 1), dt.date(2018, 3, 1))
    post = [m for m in gt if m >= "2017-08"]
    assert observed == sum(gt[m]["numerator"] for m in post)
    assert cf == pytest.approx(float(without[without.index >= "2017-08"].sum()), rel=1e-12)
    assert cf < sum(gt[m]["numerator"] / gt[m]["effect_multiplier"] for m in post) - 100  # the old truth
