"""Recovery of known effects across many simulated sites (the simulator's month-level generator).

The true effect is the rate ratio at full ramp (`rate_ratio` in `simulate_measure_series`): the
simulator multiplies the underlying rate by 1 + (ratio - 1) * min(1, months since go-live / ramp),
so from the end of the ramp-in on the rate is `ratio` times what it would have been. The engine
leaves the ramp-in months out of the fit and measures the level change at the first month after
them, with trend, one Fourier pair and quasi-Poisson over-dispersion in the model - the same
structure as the generator (log-linear trend, one annual harmonic, lognormal month noise), so
the 95% CI should cover the truth in about 95% of sites.

Rates measured when this was written (120 sites each, 54 months, go-live at month 24, ramp 3,
latest month September, scale 0.2), and the tolerances tested:

| measure | true ratio | CI covers truth | SPC: latest point special-cause improvement | status emerging or realised |
|---|---|---|---|---|
| omitted critical doses (strong season, falling trend) | 0.7 | 0.94 | 1.00 | 1.00 |
| omitted critical doses | 1.0 | 0.93 | 0.53 | 0.02 |
| patient identification incidents (mild season, ~10 a month) | 0.6 | 0.93 | 0.71 | 0.64 |
| patient identification incidents | 1.0 | 0.97 | 0.03 | 0.00 |

SPC alone compares with the baseline mean, so a seasonal low or a trend already under way shows as
special cause (omitted doses with no effect, in September); the status is decided by the ITS
(benefits/status.py), which brings that down to a few per cent, and claims the incidents' effect
that SPC sees in only 71% of sites. The incidents' 64% is the price of fitting their trend (22
fitted baseline months after the 2-month warm-up): without it the status claimed 100%, but the
unmodelled drift of such series biases estimates (docs/benefits.md, Trend).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from benefits.evaluate import MeasureSpec, evaluate_benefit
from benefits.register import Benefit
from pipeline.marts.build import measure_lookup
from pipeline.simulator import simulate_measure_series
from tests.benefits.synthetic import months_from

SITES = 120
MONTHS = months_from(dt.date(2016, 4, 1), 54)
GO, RAMP = MONTHS[24], 3


def outcomes(measure: str, ratio: float) -> pd.DataFrame:
    spec = MeasureSpec.of(measure_lookup()[measure])
    b = Benefit(
        id="R", title="recovery", measure=measure, go_live=GO, ramp_months=RAMP,
        baseline={"start": MONTHS[0], "end": MONTHS[23]},
    )  # fmt: skip
    rows = []
    for seed in range(SITES):
        s = simulate_measure_series(measure, MONTHS, rate_ratio=ratio, go_live=GO, ramp_months=RAMP, scale=0.2, seed=seed)
        s["value"] = s["numerator"] * spec.multiplier / s["denominator"]
        latest = evaluate_benefit(s, b, f"S{seed:03d}", spec).fact.iloc[-1]
        rows.append(
            {
                "covered": latest["level_change_low"] <= ratio <= latest["level_change_high"],
                "spc_improvement": latest["variation"] == "special_cause_improvement",
                "claimed": latest["status"] in ("emerging", "realised"),
                "level_change": latest["level_change"],
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("measure", "ratio", "spc_range", "claimed_range"),
    [
        ("omitted_critical_doses_rate", 0.7, (0.9, 1.0), (0.9, 1.0)),
        ("omitted_critical_doses_rate", 1.0, (0.3, 0.75), (0.0, 0.08)),
        ("patient_id_incidents_per_1000_bed_days", 0.6, (0.55, 0.9), (0.5, 0.85)),
        ("patient_id_incidents_per_1000_bed_days", 1.0, (0.0, 0.1), (0.0, 0.05)),
    ],
)
def test_recovery(measure, ratio, spc_range, claimed_range):
    r = outcomes(measure, ratio)
    coverage = r["covered"].mean()
    assert 0.90 <= coverage <= 0.99, coverage
    assert r["level_change"].median() == pytest.approx(ratio, rel=0.05)
    assert spc_range[0] <= r["spc_improvement"].mean() <= spc_range[1], r["spc_improvement"].mean()
    assert claimed_range[0] <= r["claimed"].mean() <= claimed_range[1], r["claimed"].mean()
