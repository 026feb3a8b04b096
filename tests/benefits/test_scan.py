"""The unplanned-change scan on hand-built series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from benefits.scan import ScanSettings, scan_unplanned
from tests.benefits.synthetic import months_from

MONTHS = months_from(dt.date(2019, 1, 1), 30)
FLAT = [10.0, 11.0] * 6  # the first 12 months: mean 10.5, limits 7.84 to 13.16


def frame(site, measure, values):
    return pd.DataFrame({"site_code": site, "measure_code": measure, "month": MONTHS[: len(values)], "value": values})


def test_a_shift_is_listed_with_its_first_month_and_size():
    values = FLAT + [11.0, 10.0, 11.0] + [9.0, 9.5, 9.2, 9.4, 9.1, 9.3, 9.6, 9.2] + [11.0, 10.0]
    # What a signal lists; its confirmation on 25 months is tested apart (below).
    out = scan_unplanned(frame("S1", "incidents", values), {"incidents": "lower"}, settings=ScanSettings(confirm_p=1.0))
    assert len(out) == 1
    r = out.iloc[0]
    assert r["first_month"] == MONTHS[15] and r["last_month"] == MONTHS[22] and r["months"] == 8
    assert r["direction"] == "improvement" and r["point_type"] == "special_cause_improvement"
    assert r["rule"] == "run" and not r["ongoing"]
    assert r["baseline_mean"] == 10.5 and r["size_abs"] == np.mean([9.0, 9.5, 9.2, 9.4, 9.1, 9.3, 9.6, 9.2]) - 10.5 and r["size_pct"] < -10
    assert r["description"].startswith("Possible unanticipated benefit on incidents: 8 months from Apr 2020")


def test_same_shift_is_a_concern_when_higher_is_better_and_neutral_otherwise():
    values = FLAT + [8.0, 8.5, 8.2, 8.4, 8.1, 8.3, 8.6]
    assert scan_unplanned(frame("S1", "m", values), {"m": "higher"})["direction"].tolist() == ["concern"]
    out = scan_unplanned(frame("S1", "m", values), {})
    assert out["direction"].tolist() == ["neutral"] and out["ongoing"].tolist() == [True]
    assert out["description"].iloc[0].startswith("Unexplained change")


def test_blips_are_not_listed():
    values = FLAT + [10.0, 20.0, 10.0, 11.0, 1.0, 11.0, 10.0, 11.0]  # two single points outside the limits
    assert scan_unplanned(frame("S1", "m", values), {"m": "lower"}).empty


def test_months_covered_by_a_benefit_are_not_scanned():
    values = FLAT + [8.0, 8.5, 8.2, 8.4, 8.1, 8.3, 8.6, 8.2, 8.0, 8.4]
    s = pd.concat([frame("S1", "m", values), frame("S2", "m", values)])
    out = scan_unplanned(s, {"m": "lower"}, covered={("S1", "m"): MONTHS[12]})
    assert out["site_code"].tolist() == ["S2"]
    partly = scan_unplanned(s, {"m": "lower"}, covered={("S1", "m"): MONTHS[18]})
    r = partly[partly["site_code"] == "S1"].iloc[0]
    assert r["last_month"] == MONTHS[17] and r["covered_from"] == MONTHS[18] and r["scanned_to"] == MONTHS[17]


def test_directions_per_site_for_local_measures_and_short_series():
    values = FLAT + [8.0, 8.5, 8.2, 8.4, 8.1, 8.3, 8.6]
    s = pd.concat([frame("S1", "local_x", values), frame("S2", "local_x", values), frame("S3", "m", FLAT)])
    out = scan_unplanned(s, {("S1", "local_x"): "lower", ("S2", "local_x"): "higher"})
    assert dict(zip(out["site_code"], out["direction"])) == {"S1": "improvement", "S2": "concern"}
    assert scan_unplanned(frame("S1", "m", [np.nan] * 5 + FLAT[:5]), {"m": "lower"}).empty


def test_confirmation_makes_the_scan_actionable():
    """Seeded: half the series carry a 30% step at month 24. Runs of special cause alone flag
    seasonal swings and drift; confirmed by a level-change test they mostly name real changes."""
    import datetime as dt

    from benefits import spc as S
    from benefits.scan import ScanSettings, scan_series
    from pipeline.marts.build import measure_lookup
    from pipeline.simulator import simulate_measure_series
    from pipeline.simulator.series import EFFECT_MEASURES
    from tests.benefits.synthetic import months_from

    months = months_from(dt.date(2016, 4, 1), 48)
    go = months[24].year * 12 + months[24].month

    def score(settings):
        true = false = found = 0
        for i in range(64):
            measure = EFFECT_MEASURES[i % len(EFFECT_MEASURES)]
            ratio = (0.7 if i % 4 == 1 else 1.3) if i % 2 else 1.0
            s = simulate_measure_series(measure, months, rate_ratio=ratio, go_live=months[24], scale=0.2, seed=2000 + i)
            sign = S.direction_sign(measure_lookup()[measure].direction)
            signals = scan_series(list(months), (s["numerator"] / s["denominator"]).to_numpy(), sign, settings)
            near = [r for r in signals if ratio != 1.0 and abs(r["first_month"].year * 12 + r["first_month"].month - go) <= 6]
            true += len(near)
            false += len(signals) - len(near)
            found += bool(near)
        return true / max(true + false, 1), found / 32

    raw_precision, raw_recall = score(ScanSettings(confirm_p=1.0))
    precision, recall = score(ScanSettings())
    assert raw_precision < 0.6 and raw_recall > 0.7
    assert precision >= 0.9 and recall >= 0.6


def _seasonal(n: int, seed: int, ratio: float = 1.0, at: int = 18) -> tuple[list, np.ndarray]:
    """A winter-peaking series (8% on the log scale, the simulator's omitted doses) with 2.5% noise."""
    from benefits.evaluate import add_months

    months = [add_months(dt.date(2016, 4, 1), k) for k in range(n)]
    moy = np.array([m.month for m in months], dtype=float)
    level = 10 * np.exp(0.08 * np.sin(2 * np.pi * (moy - 9.5) / 12)) * np.where(np.arange(n) >= at, ratio, 1.0)
    return months, level + np.random.default_rng(seed).normal(0, 0.25, n)


def test_a_seasonal_run_without_a_shift_is_not_a_signal_and_a_sustained_step_is():
    from benefits.scan import scan_series

    # Seasonal runs beyond the first year's limits are common in these series; before the small-
    # sample correction about 4% of them were confirmed at p < 0.0001 (24 of 600).
    false = sum(bool(scan_series(*_seasonal(n, seed), -1)) for seed in range(100) for n in (20, 30))
    assert false <= 4
    # A 20% step at month 18 joins the summer's low run before it; it is found at its own month.
    for seed in range(20):
        months, y = _seasonal(36, 1000 + seed, ratio=0.8)
        signals = scan_series(months, y, -1)
        assert [(r["first_month"], r["direction"]) for r in signals] == [(months[18], "improvement")]


def test_a_rise_seen_for_fewer_months_than_the_confirmation_window_waits():
    from benefits.scan import ScanSettings, scan_series

    months, y = _seasonal(36, 7, ratio=1.4, at=31)
    assert scan_series(months, y, -1) == []  # 5 months of it: waits for the sixth
    assert [r["first_month"] for r in scan_series(months, y, -1, ScanSettings(confirm_months=5))] == [months[31]]


def test_provisional_months_and_measures_moved_by_a_benefit_are_not_scanned():
    from benefits.evaluate import MeasureSpec

    values = [5.0, 6.0] + FLAT + [8.0, 8.5, 8.2, 8.4, 8.1, 8.3, 8.6, 8.2, 8.0, 8.4]
    s = pd.concat([frame("S1", "los", values), frame("S1", "bed_days", values), frame("S2", "bed_days", values)])
    measures = {"bed_days": MeasureSpec("bed_days", "neutral", warm_up_months=2, moved_by=("los",))}
    out = scan_unplanned(s, {"los": "lower"}, covered={("S1", "los"): MONTHS[14]}, measures=measures,
                         settings=ScanSettings(confirm_p=1.0))  # fmt: skip
    # S2's bed days: its limits from months 2-13, the warm-up's two low months left out.
    s2 = out[out["site_code"] == "S2"].iloc[0]
    assert s2["baseline_start"] == MONTHS[2] and s2["baseline_mean"] == 10.5
    # S1's bed days change with its length of stay, which a benefit covers from month 14; los itself
    # has no measure spec here, so its warm-up months are scanned (limits from month 0).
    assert out[out["site_code"] == "S1"]["measure_code"].tolist() == []
    bare = scan_unplanned(s[s["site_code"] == "S2"], {}, settings=ScanSettings(confirm_p=1.0))
    assert bare["baseline_start"].tolist() == [MONTHS[0]]
