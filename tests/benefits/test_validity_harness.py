"""The validity harness at a small, seeded size: the real `benefits run` on simulated trusts,
figures read from the marts and compared with the simulator's truth (bench/bench_validity.py
runs the full calibration set and writes docs/validity.md)."""

from __future__ import annotations

import pytest

from benefits.status import STATUSES
from tests.support.bench import load_bench

pytestmark = pytest.mark.slow


def _harness():
    return load_bench("bench_validity")


def test_small_calibration_set_against_truth(tmp_path):
    h = _harness()
    sites = h.plan(3, seed=11, max_scale=0.03)
    assert {b["truth"] for s in sites for b in s["benefits"]} & {1.0}  # nulls are in the set
    h.write_sites(sites, tmp_path / "sites")
    _, failed = h.run_pipeline(tmp_path / "sites", tmp_path / "home", memory="1GB")
    assert failed == []
    fact, scan = h.collect(sites, tmp_path / "home")
    r = h.summarise(fact, scan, sites)
    # Every planned benefit is in the marts, every status is one of the documented ones.
    assert r["benefits"] == sum(len(s["benefits"]) for s in sites)
    assert set(fact["status"]) <= set(STATUSES) and set(fact["status_signal"]) <= set(STATUSES)
    # Bands that fail when the chain is wrong (the first wave's sign error gave coverage 3/7 on
    # the demo and a loss valued as a benefit): most intervals cover the injected truth, the
    # typical estimate is close to it, and no benefit without an effect is ever called realised.
    assert r["estimated"] >= 0.7 * r["benefits"]
    assert r["coverage"] >= 0.7, r["per_measure"]
    assert abs(r["bias"]) < 0.1
    assert r["false_realised_ever"] == 0
    # The chain loses and invents nothing: every observed total since go-live equals the count of
    # the simulator's clean rows over the same months, and the cumulative benefit's interval
    # mostly covers the simulator's counterfactual total.
    assert r["cumulative"] >= 0.7 * r["benefits"]
    assert r["cumulative_counted"] == 1.0, r["cumulative_per_measure"]
    assert r["cumulative_coverage"] >= 0.7, r["cumulative_per_measure"]
    # The unplanned-change scan names no change where none was injected (the first wave's scan
    # raised 16 signals on the demo, none on an injected effect): at most one false signal here.
    assert r["scan_signals"] - r["scan_true"] <= 1, scan
    improved = fact[fact["is_latest"] & (fact["truth"] < 1)]
    assert (improved["effect_latest"] < 1).mean() >= 0.8  # the sign of the effect is right
