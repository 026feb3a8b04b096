"""Ground truth: what the simulator put into the extracts, for tests to check recovery against.

Per measure and month it records the model's expected rate and effect multiplier, the
month's underlying rate (with its noise), and the numerator and denominator counted from
the clean rows actually written (rows without a defect; a duplicated row is a defect), with
the conventions of DESIGN.md: bed days are midnights, length of stay is discharge date
minus admission date in days, readmissions are emergency admissions of the same
patient_ref within 30 days (all simulated ones fall within 28) of a live discharge, by that
rule over the clean rows: a later readmission counts when the one between is quarantined.
`numerator_without_effect` is that numerator with the injected effect taken out of each row by
the multiplier that acted on it: for length of stay the admission month's, not the discharge
month's the row is counted in.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import numpy as np

from .spec import EFFECT_MEASURES, SimulationSpec

# Datasets a measure's counts come from: counts are reported only if all were written.
SOURCES: dict[str, tuple[str, ...]] = {
    "omitted_critical_doses_rate": ("medication_administrations",),
    "delayed_critical_doses_rate": ("medication_administrations",),
    "medication_incidents_per_1000_bed_days": ("patient_safety_incidents", "inpatient_spells"),
    "patient_id_incidents_per_1000_bed_days": ("patient_safety_incidents", "inpatient_spells"),
    "mean_los_emergency_days": ("inpatient_spells",),
    "emergency_readmission_30d_rate": ("inpatient_spells",),
    "bed_days": ("inpatient_spells",),
}
PER_BED_DAY = ("medication_incidents_per_1000_bed_days", "patient_id_incidents_per_1000_bed_days")


class Tally:
    """Numerators and denominators per measure and month index, from clean rows."""

    def __init__(self, n_months: int):
        self.n = n_months
        self.num = {m: np.zeros(n_months, dtype=np.int64) for m in SOURCES}
        self.den = {m: np.zeros(n_months, dtype=np.int64) for m in SOURCES}
        # Numerators with the injected effect taken out, where the effect and the count are not
        # dated alike (length of stay: the effect follows the admission month, the count the
        # discharge month); every other measure's is its numerator / the month's multiplier.
        self.num_without_effect: dict[str, np.ndarray] = {}

    def add(self, measure: str, month: np.ndarray | int, num=0, den=0) -> None:
        month = np.asarray(month, dtype=np.int64)
        if month.ndim == 0:
            self.num[measure][month] += int(np.sum(num))
            self.den[measure][month] += int(np.sum(den))
            return
        self.num[measure] += np.bincount(month, weights=np.broadcast_to(num, month.shape), minlength=self.n).astype(
            np.int64
        )
        self.den[measure] += np.bincount(month, weights=np.broadcast_to(den, month.shape), minlength=self.n).astype(
            np.int64
        )

    def add_without_effect(self, measure: str, month: np.ndarray, num: np.ndarray) -> None:
        acc = self.num_without_effect.setdefault(measure, np.zeros(self.n, dtype=float))
        acc += np.bincount(np.asarray(month, dtype=np.int64), weights=num, minlength=self.n)

    def finish(self) -> None:
        for m in PER_BED_DAY:
            self.den[m] = self.num["bed_days"].copy()


@dataclass
class FileRecord:
    path: str  # relative to the output folder, with forward slashes
    rows: int
    sha256: str
    defects: dict[str, int]


@dataclass
class GroundTruth:
    spec: SimulationSpec
    paths: dict  # measure -> rates.MeasurePath
    tally: Tally
    fill_up_months: int
    files: dict[str, dict[str, FileRecord]] = field(default_factory=dict)

    def add_file(self, dataset: str, month: dt.date, record: FileRecord) -> None:
        self.files.setdefault(dataset, {})[f"{month:%Y-%m}"] = record

    def to_dict(self) -> dict:
        months = self.spec.months()
        written = set(self.spec.datasets)
        measures = {}
        for name in (*EFFECT_MEASURES, "bed_days"):
            counted = all(d in written for d in SOURCES[name])
            path = self.paths.get(name)
            per_month = {}
            for i, m in enumerate(months):
                entry = {
                    "numerator": int(self.tally.num[name][i]) if counted else None,
                    "denominator": int(self.tally.den[name][i]) if counted and name != "bed_days" else None,
                }
                if path is not None:
                    entry |= {
                        "expected_rate": float(path.expected[i]),
                        "effect_multiplier": float(path.multiplier[i]),
                        "underlying_rate": float(path.rate[i]),
                    }
                    if counted:
                        own = self.tally.num_without_effect.get(name)
                        entry["numerator_without_effect"] = (
                            float(own[i]) if own is not None else entry["numerator"] / float(path.multiplier[i])
                        )
                per_month[f"{m:%Y-%m}"] = entry
            measures[name] = per_month
        return {
            "spec": self.spec.model_dump(mode="json"),
            "effects": [
                {
                    "measure": e.measure,
                    "go_live": f"{e.go_live:%Y-%m}",
                    "rate_ratio": e.rate_ratio,
                    "ramp_months": e.ramp_months,
                }
                for e in self.spec.effects
            ],
            "model": {
                "description": "see pipeline.simulator.rates",
                "fill_up_months": self.fill_up_months,
                "fill_up_note": "the hospital starts empty: bed days and discharge-based measures "
                "(emergency LOS) settle after this many months",
            },
            "measures": measures,
            "files": {
                ds: {m: vars(rec) for m, rec in sorted(per.items())} for ds, per in sorted(self.files.items())
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=2) + "\n"
