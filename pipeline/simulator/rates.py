"""The month-level generative model shared by the record simulator and `simulate_measure_series`.

For each site and month t (0-based from the first simulated month) every underlying rate
(and every admission volume) follows

    log rate_t = log base + trend * t + A * sin(2*pi*(calendar_month - phase) / 12)
                 + log effect_t + eps_t,          eps_t ~ Normal(0, sigma)

* ``base``, ``trend``, ``A``, ``phase`` and ``sigma`` are in `MODELS` (base per trust type).
  Phase 9.5 puts the peak between December and January; A is largest for omitted doses
  (0.08) and emergency admissions (0.07), and with the emergency length of stay (0.04)
  it makes occupied bed days peak in winter too.
* ``effect_t = 1`` before go-live and ``1 + (rate_ratio - 1) * min(1, (t - t_golive + 1) /
  ramp_months)`` from the go-live month on; several effects on one measure multiply.
* ``eps_t`` is drawn once per calendar month from a stream keyed by (seed, site, measure,
  month); it makes counts mildly over-dispersed relative to binomial/Poisson.
* ``expected_rate`` (in the ground truth) is the rate without ``eps_t``, i.e. its median;
  its mean is larger by exp(sigma**2 / 2), under 0.2% for the sigmas used.
  Proportions are capped at 0.999.

Counts given the month's rate ("kind" in `MODELS`):

* ``proportion``: each record is a Bernoulli trial, so numerator ~ Binomial(denominator, rate)
  (omitted / critical doses due, delayed / critical doses given, readmitted / live discharges).
* ``per_1000``: incidents ~ Poisson(rate * occupied bed days / 1000).
* ``mean``: each emergency spell's length of stay in midnights is negative binomial
  (Poisson with a gamma-distributed mean, shape `LOS_SHAPE`) with mean = the rate of its
  admission month, so a month's total over n spells is Poisson(Gamma(n * shape, rate / shape)).
* ``volume``: new admissions of a group ~ Poisson(rate * scale * days_in_month / 30.4375).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .seeding import rng

AVG_MONTH_DAYS = 30.4375
WINTER_PHASE = 9.5
MAX_PROPORTION = 0.999


@dataclass(frozen=True)
class RateModel:
    kind: str  # proportion | per_1000 | mean | volume
    base: dict[str, float]  # per trust type; volumes per month at scale 1
    trend: float = 0.0  # per month, on the log scale
    amplitude: float = 0.0
    phase: float = WINTER_PHASE
    sigma: float = 0.0


MODELS: dict[str, RateModel] = {
    "omitted_critical_doses_rate": RateModel(
        "proportion", {"acute": 0.075, "mental_health": 0.065}, trend=-0.001, amplitude=0.08, sigma=0.05
    ),
    "delayed_critical_doses_rate": RateModel(
        "proportion", {"acute": 0.17, "mental_health": 0.15}, trend=-0.0005, amplitude=0.05, sigma=0.04
    ),
    "medication_incidents_per_1000_bed_days": RateModel(
        "per_1000", {"acute": 6.0, "mental_health": 6.0}, trend=0.002, amplitude=0.03, sigma=0.05
    ),
    "patient_id_incidents_per_1000_bed_days": RateModel(
        "per_1000", {"acute": 1.5, "mental_health": 1.5}, amplitude=0.03, sigma=0.05
    ),
    "mean_los_emergency_days": RateModel(
        "mean", {"acute": 6.5, "mental_health": 30.0}, trend=-0.001, amplitude=0.04, sigma=0.03
    ),
    "emergency_readmission_30d_rate": RateModel(
        "proportion", {"acute": 0.12, "mental_health": 0.10}, trend=0.0005, amplitude=0.03, sigma=0.04
    ),
    # New admissions a month at scale 1 (readmissions come on top of emergency ones;
    # with them a large acute trust admits about 9k spells, 60% emergency).
    "admissions_emergency": RateModel(
        "volume", {"acute": 4340.0, "mental_health": 270.0}, trend=0.002, amplitude=0.07, sigma=0.03
    ),
    "admissions_elective": RateModel("volume", {"acute": 2550.0, "mental_health": 100.0}, sigma=0.02),
    "admissions_maternity": RateModel("volume", {"acute": 800.0, "mental_health": 0.0}, sigma=0.02),
    "admissions_other": RateModel("volume", {"acute": 250.0, "mental_health": 35.0}, sigma=0.02),
}
# Shape of the gamma mixing the negative-binomial length of stay (smaller = longer tail).
LOS_SHAPE = 1.2


def months_between(start: dt.date, month: dt.date) -> int:
    return (month.year - start.year) * 12 + month.month - start.month


def days_in_month(month: dt.date) -> int:
    nxt = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return (nxt - month.replace(day=1)).days


def effect_multiplier(t: np.ndarray, effects: list[tuple[dt.date, float, int]], start: dt.date) -> np.ndarray:
    """Product over effects of 1 + (ratio - 1) * min(1, (t - t_golive + 1) / ramp), 1 before go-live."""
    out = np.ones(len(t), dtype=float)
    for go_live, ratio, ramp in effects:
        since = t - months_between(start, go_live) + 1
        share = np.clip(since / ramp, 0.0, 1.0)
        out *= 1.0 + (ratio - 1.0) * share
    return out


@dataclass(frozen=True)
class MeasurePath:
    """One rate's monthly path: the deterministic part, the effect, the noise and the result."""

    months: list[dt.date]
    expected: np.ndarray  # base * trend * season * effect (no eps)
    multiplier: np.ndarray
    eps: np.ndarray
    rate: np.ndarray  # what records are drawn from


def month_noise(sigma: float, months: list[dt.date], seed: int, *key: object) -> np.ndarray:
    if sigma == 0:
        return np.zeros(len(months))
    return np.array([rng(seed, *key, m).normal(0.0, sigma) for m in months])


def measure_path(
    name: str,
    months: list[dt.date],
    *,
    trust_type: str,
    seed: int,
    key: tuple,
    effects: list[tuple[dt.date, float, int]] = (),
    start: dt.date | None = None,
) -> MeasurePath:
    """The rate of `name` in each month; t counts months from `start` (default months[0])."""
    model = MODELS[name]
    start = start or months[0]
    t = np.array([months_between(start, m) for m in months], dtype=float)
    cal = np.array([m.month for m in months], dtype=float)
    multiplier = effect_multiplier(t, list(effects), start)
    base = model.base[trust_type]
    with np.errstate(divide="ignore"):
        log_expected = np.log(base) + model.trend * t + model.amplitude * np.sin(2 * np.pi * (cal - model.phase) / 12)
    expected = np.exp(log_expected) * multiplier
    eps = month_noise(model.sigma, months, seed, *key, name)
    rate = expected * np.exp(eps)
    if model.kind == "proportion":
        expected = np.minimum(expected, MAX_PROPORTION)
        rate = np.minimum(rate, MAX_PROPORTION)
    return MeasurePath(list(months), expected, multiplier, eps, rate)


def volume_mean(path: MeasurePath, scale: float) -> np.ndarray:
    """Expected new admissions in each month: the volume rate scaled to the month's length."""
    days = np.array([days_in_month(m) for m in path.months], dtype=float)
    return path.rate * scale * days / AVG_MONTH_DAYS


def draw_los_days(gen: np.random.Generator, mean: np.ndarray, shape: np.ndarray | float) -> np.ndarray:
    """Length of stay in midnights: negative binomial with the given mean (gamma-Poisson)."""
    return gen.poisson(gen.gamma(shape, np.asarray(mean, dtype=float) / shape)).astype(np.int64)


def draw_los_total(gen: np.random.Generator, n: np.ndarray, mean: np.ndarray, shape: float) -> np.ndarray:
    """The total of `n` independent `draw_los_days` draws, drawn in one go."""
    n = np.asarray(n)
    lam = np.where(n > 0, gen.gamma(np.maximum(n, 1) * shape, mean / shape), 0.0)
    return gen.poisson(lam).astype(np.int64)
