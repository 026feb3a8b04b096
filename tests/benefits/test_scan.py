"""The unplanned-change scan on hand-built series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from benefits.scan import scan_unplanned
from tests.benefits.synthetic import months_from

MONTHS = months_from(dt.date(2019, 1, 1), 30)
FLAT = [10.0, 11.0] * 6  # the first 12 months: mean 10.5, limits 7.84 to 13.16


def frame(site, measure, values):
    return pd.DataFrame({"site_code": site, "measure_code": measure, "month": MONTHS[: len(values)], "value": values})


def test_a_shift_is_listed_with_its_first_month_and_size():
    values = FLAT + [11.0, 10.0, 11.0] + [9.0, 9.5, 9.2, 9.4, 9.1, 9.3, 9.6, 9.2] + [11.0, 10.0]
    out = scan_unplanned(frame("S1", "incidents", values), {"incidents": "lower"})
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
    assert raw_precision < 0.5 and raw_recall > 0.7
    assert precision >= 0.75 and recall >= 0.55
