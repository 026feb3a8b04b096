"""`simulate_measure_series`: one measure's monthly counts drawn straight from the rate model.

The rate path is `rates.measure_path`, the very function the record simulator uses, and
numerators are drawn given the rate exactly as records would produce them (binomial,
Poisson, gamma-Poisson totals). Denominators are Poisson draws around the steady-state
volume of the same trust profile (admissions by group from the volume models, stays from
the profile's mean lengths of stay, readmissions on top); the record simulator's
denominators emerge from individual spells and differ from these only by that noise and
the empty-hospital start.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .profiles import (
    CRITICAL_DOSE_SHARE,
    CRITICAL_NOT_REQUIRED,
    CRITICAL_REFUSED,
    DOSES_PER_DAY,
    profile,
)
from .rates import LOS_SHAPE, MODELS, draw_los_total, measure_path, volume_mean
from .seeding import rng
from .spec import EFFECT_MEASURES, parse_month


def expected_volumes(
    months: list[dt.date], scale: float, trust_type: str, seed: int, key: tuple
) -> dict[str, np.ndarray]:
    """Steady-state monthly bed days, discharges and critical doses of the trust profile."""
    p = profile(trust_type)

    def path(name):
        return measure_path(name, months, trust_type=trust_type, seed=seed, key=key)

    los_em = path("mean_los_emergency_days").expected
    readmit = path("emergency_readmission_30d_rate").expected
    omit = path("omitted_critical_doses_rate").expected
    live_share_em = 1 - p.group("emergency").died
    new = {g.name: volume_mean(path(g.volume), scale) for g in p.groups}
    live_new = sum(new[g.name] * (1 - g.died) for g in p.groups)
    readmissions = readmit * live_new / (1 - readmit * live_share_em)
    bed_days = readmissions * los_em + sum(new[g.name] * (g.los_mean or los_em) for g in p.groups)
    critical_due = bed_days * DOSES_PER_DAY * CRITICAL_DOSE_SHARE * (1 - CRITICAL_NOT_REQUIRED)
    return {
        "bed_days": bed_days,
        "emergency_discharges": new["emergency"] + readmissions,
        "live_discharges": live_new + readmissions * live_share_em,
        "critical_due": critical_due,
        "critical_given_share": 1 - omit - CRITICAL_REFUSED,
    }


def simulate_measure_series(
    measure: str,
    months: list[dt.date],
    *,
    rate_ratio: float = 1.0,
    go_live: dt.date | str | None = None,
    ramp_months: int = 1,
    scale: float = 1.0,
    seed: int = 0,
    trust_type: str = "acute",
) -> pd.DataFrame:
    """Monthly numerator, denominator, expected_rate and effect_multiplier of `measure`.

    `expected_rate` is the model's rate without month noise (for incident measures, per
    1000 bed days; numerator * 1000 / denominator estimates it). t counts from months[0].
    """
    if measure not in EFFECT_MEASURES:
        raise ValueError(f"measure: {measure!r} is not simulated; choose from {', '.join(EFFECT_MEASURES)}")
    if not months:
        raise ValueError("months: need at least one month")
    if not rate_ratio > 0:
        raise ValueError(f"rate_ratio: must be > 0, got {rate_ratio!r}")
    if int(ramp_months) != ramp_months or ramp_months < 1:
        raise ValueError(f"ramp_months: must be a whole number >= 1, got {ramp_months!r}")
    if not scale > 0:
        raise ValueError(f"scale: must be > 0, got {scale!r}")
    profile(trust_type)
    months = [parse_month(m) for m in months]
    effects = [] if go_live is None else [(parse_month(go_live), float(rate_ratio), int(ramp_months))]
    key = ("series", trust_type)
    path = measure_path(measure, months, trust_type=trust_type, seed=seed, key=key, effects=effects)
    vol = expected_volumes(months, scale, trust_type, seed, key)
    gen = rng(seed, "series", trust_type, measure)
    rate, kind = path.rate, MODELS[measure].kind

    if measure == "omitted_critical_doses_rate":
        den = gen.poisson(vol["critical_due"])
        num = gen.binomial(den, rate)
    elif measure == "delayed_critical_doses_rate":
        den = gen.binomial(gen.poisson(vol["critical_due"]), vol["critical_given_share"])
        num = gen.binomial(den, rate)
    elif kind == "per_1000":
        den = gen.poisson(vol["bed_days"])
        num = gen.poisson(rate * den / 1000)
    elif measure == "mean_los_emergency_days":
        den = gen.poisson(vol["emergency_discharges"])
        num = draw_los_total(gen, den, rate, LOS_SHAPE)
    else:
        den = gen.poisson(vol["live_discharges"])
        num = gen.binomial(den, rate)
    return pd.DataFrame(
        {
            "month": months,
            "numerator": np.asarray(num, dtype=np.int64),
            "denominator": np.asarray(den, dtype=np.int64),
            "expected_rate": path.expected,
            "effect_multiplier": path.multiplier,
        }
    )
