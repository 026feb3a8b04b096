"""Fixed parameters of a simulated trust: case mix, stays, drug rounds and incident mix.

Rates that move over time (and that effects can move) live in `rates.MODELS`; everything
here is constant over the simulated period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import codes
from .rates import LOS_SHAPE

WEEKDAYS_ALL = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)  # Monday first
WEEKDAYS_ELECTIVE = (1.0, 1.0, 1.0, 1.0, 0.9, 0.12, 0.08)  # lists rarely run at weekends
HOURS_EMERGENCY = (2, 1.5, 1, 1, 1, 1, 1.5, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 5.5, 5, 4.5, 4, 3, 2.5)
HOURS_ELECTIVE = (0, 0, 0, 0, 0, 0, 1, 8, 9, 6, 3, 2, 2, 3, 2, 1, 1, 0.5, 0.3, 0.2, 0, 0, 0, 0)
HOURS_FLAT = (1.0,) * 24
HOURS_DISCHARGE = (0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1, 2, 4, 5, 6, 7, 7, 6, 5, 4, 3, 2, 1, 0.5, 0.2)


@dataclass(frozen=True)
class AdmissionGroup:
    name: str  # contract admission_method group
    volume: str  # key of its volume model in rates.MODELS
    methods: dict[str, float]  # local method code -> share
    specialties: dict[str, float]
    los_mean: float | None  # None: the mean_los_emergency_days rate of the month
    los_shape: float
    died: float  # probability a spell ends in death
    weekdays: tuple[float, ...]
    hours: tuple[float, ...]


@dataclass(frozen=True)
class TrustProfile:
    groups: tuple[AdmissionGroup, ...]
    ward_weights: dict[str, dict[str, float]]  # specialty -> ward -> weight
    live_destinations: dict[str, float]
    readmission_method: str
    readmission_specialties: dict[str, float]
    fill_up_months: int  # months the empty hospital needs before discharge-based measures settle

    def group(self, name: str) -> AdmissionGroup:
        return next(g for g in self.groups if g.name == name)


def _wards(names, weights=None):
    return dict(zip(names, weights or [1.0] * len(names), strict=True))


_MED_WARDS = _wards(["AMU", "W01", "W02", "W03", "W04", "W05", "W06", "W07", "W08", "W09", "W10"], [4] + [1] * 10)
_SURG_WARDS = _wards(["SAU", "W11", "W12", "W13", "W14", "W15", "W16", "ICU"], [3, 1, 1, 1, 1, 1, 1, 0.3])
_ACUTE_WARDS = {
    **{s: _SURG_WARDS for s in ("100", "101", "110", "120", "130")},
    **{s: _MED_WARDS for s in ("300", "301", "340", "400", "430")},
    "320": {"CCU": 3.0, "W01": 1.0, "W02": 1.0},
    "501": {"W17": 1.0, "W18": 1.0},
    "502": {"W19": 1.0, "W20": 1.0},
}
_EMERGENCY_ACUTE = {
    "300": 30, "301": 7, "320": 9, "340": 8, "400": 3, "430": 13,
    "100": 14, "101": 4, "110": 8, "120": 2, "130": 1, "502": 1,
}  # fmt: skip

ACUTE = TrustProfile(
    groups=(
        AdmissionGroup(
            "emergency", "admissions_emergency", {"21": 0.55, "22": 0.2, "23": 0.05, "24": 0.05, "28": 0.15},
            _EMERGENCY_ACUTE, None, LOS_SHAPE, 0.03, WEEKDAYS_ALL, HOURS_EMERGENCY,
        ),
        AdmissionGroup(
            "elective", "admissions_elective", {"11": 0.6, "12": 0.25, "13": 0.15},
            {"100": 20, "101": 15, "110": 18, "120": 8, "130": 12, "301": 12, "320": 8, "502": 7},
            1.2, 0.6, 0.002, WEEKDAYS_ELECTIVE, HOURS_ELECTIVE,
        ),
        AdmissionGroup(
            "maternity", "admissions_maternity", {"31": 0.85, "32": 0.15},
            {"501": 1.0}, 1.8, 2.0, 0.0005, WEEKDAYS_ALL, HOURS_FLAT,
        ),
        AdmissionGroup(
            "other", "admissions_other", {"81": 1.0},
            {"300": 1, "100": 1, "430": 1}, 3.0, 1.0, 0.01, WEEKDAYS_ALL, HOURS_FLAT,
        ),
    ),
    ward_weights=_ACUTE_WARDS,
    live_destinations={"19": 0.8, "29": 0.03, "54": 0.06, "65": 0.02, "51": 0.04, "52": 0.01, "53": 0.01, "98": 0.03},
    readmission_method="21",
    readmission_specialties=_EMERGENCY_ACUTE,
    fill_up_months=2,
)  # fmt: skip

_MH_SPECIALTIES = {"710": 60, "711": 8, "712": 7, "715": 25}
MENTAL_HEALTH = TrustProfile(
    groups=(
        AdmissionGroup(
            "emergency", "admissions_emergency", {"21": 0.5, "22": 0.2, "24": 0.2, "28": 0.1},
            _MH_SPECIALTIES, None, LOS_SHAPE, 0.003, WEEKDAYS_ALL, HOURS_EMERGENCY,
        ),
        AdmissionGroup(
            "elective", "admissions_elective", {"11": 1.0}, _MH_SPECIALTIES, 40.0, 1.5, 0.002,
            WEEKDAYS_ELECTIVE, HOURS_ELECTIVE,
        ),
        AdmissionGroup(
            "other", "admissions_other", {"81": 1.0}, _MH_SPECIALTIES, 35.0, 1.2, 0.003, WEEKDAYS_ALL, HOURS_FLAT,
        ),
    ),
    ward_weights={
        "710": _wards(["MH01", "MH02", "MH03", "MH04"]),
        "711": {"MH05": 1.0},
        "712": {"MH06": 1.0},
        "715": _wards(["MH07", "MH08"]),
    },
    live_destinations={"19": 0.85, "29": 0.03, "54": 0.04, "51": 0.04, "53": 0.02, "98": 0.02},
    readmission_method="21",
    readmission_specialties=_MH_SPECIALTIES,
    fill_up_months=7,
)  # fmt: skip

PROFILES = {"acute": ACUTE, "mental_health": MENTAL_HEALTH}


def profile(trust_type: str) -> TrustProfile:
    try:
        return PROFILES[trust_type]
    except KeyError:
        raise ValueError(
            f"trust_type: cannot simulate {trust_type!r} trusts (no inpatient extracts); "
            f"choose from {', '.join(PROFILES)}"
        ) from None


# --- Drug rounds -------------------------------------------------------------------------
DOSES_PER_DAY = 24.0  # scheduled doses per patient per day in hospital (~1M a month at scale 1)
CRITICAL_DOSE_SHARE = 0.20
# Status probabilities besides the modelled ones: (not_required, refused | due, omitted | due, delayed | given)
CRITICAL_NOT_REQUIRED, CRITICAL_REFUSED = 0.03, 0.015
OTHER_NOT_REQUIRED, OTHER_REFUSED, OTHER_OMITTED, OTHER_DELAYED = 0.04, 0.03, 0.05, 0.20
OMISSION_REASON_SHARES = (0.3, 0.3, 0.25, 0.15)  # NBM, PATAWAY, UNAVAIL, CLIN for omitted doses
ON_TIME_MAX_SECONDS = 29 * 60  # on-time doses are given 0-29 min after schedule
LATE_MIN_SECONDS = 31 * 60  # late ones 31 min or more: no dose sits on the 30-minute line
LATE_MEAN_EXTRA_SECONDS = 50 * 60


MAX_INCLUSION = 0.85  # even paracetamol is not on every chart


def _calibrate(weight: np.ndarray, freq: np.ndarray, doses_a_day: float) -> np.ndarray:
    """Inclusion probabilities min(MAX_INCLUSION, c * weight) with sum(q * freq) = doses_a_day."""
    lo, hi = 0.0, 1.0
    while (np.minimum(MAX_INCLUSION, hi * weight) * freq).sum() < doses_a_day:
        hi *= 2
    for _ in range(60):
        c = (lo + hi) / 2
        lo, hi = (c, hi) if (np.minimum(MAX_INCLUSION, c * weight) * freq).sum() < doses_a_day else (lo, c)
    return np.minimum(MAX_INCLUSION, hi * weight)


def drug_inclusion() -> np.ndarray:
    """Chance that a patient's regimen includes each drug (at most once).

    Calibrated so a patient has DOSES_PER_DAY scheduled doses a day, CRITICAL_DOSE_SHARE of
    them critical medicines.
    """
    w = np.array([d.weight for d in codes.DRUGS])
    f = np.array([d.per_day for d in codes.DRUGS], dtype=float)
    crit = np.array([d.critical for d in codes.DRUGS])
    q = np.zeros(len(w))
    for group, share in ((crit, CRITICAL_DOSE_SHARE), (~crit, 1 - CRITICAL_DOSE_SHARE)):
        q[group] = _calibrate(w[group], f[group], DOSES_PER_DAY * share)
    return q


# --- Incidents ---------------------------------------------------------------------------
# Categories not driven by a modelled measure, per 1000 occupied bed days.
OTHER_INCIDENT_RATES = {"FALL": 8.0, "PU": 5.5, "DET": 4.5, "OTH": 10.2}
HARM_SHARES = {
    "MED": (0.78, 0.18, 0.035, 0.004, 0.001),
    "PTID": (0.85, 0.13, 0.02, 0.0, 0.0),
    "FALL": (0.6, 0.32, 0.06, 0.018, 0.002),
    "PU": (0.3, 0.5, 0.17, 0.03, 0.0),
    "DET": (0.4, 0.3, 0.2, 0.07, 0.03),
    "OTH": (0.7, 0.24, 0.05, 0.008, 0.002),
}
MEDICATION_STAGE_SHARES = (0.35, 0.15, 0.4, 0.1)
REPORT_DELAY_MEDIAN_HOURS = 18.0
REPORT_DELAY_SIGMA = 1.0
WEEKEND_HOLD_SHARE = 0.8  # share of weekend reports held until Monday office hours
