"""What to simulate for one site: the typed block a site config carries under `simulation:`."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SIMULATED_DATASETS = ("medication_administrations", "patient_safety_incidents", "inpatient_spells")

# Measures whose underlying rate the simulator can move at go-live.
EFFECT_MEASURES = (
    "omitted_critical_doses_rate",
    "delayed_critical_doses_rate",
    "medication_incidents_per_1000_bed_days",
    "patient_id_incidents_per_1000_bed_days",
    "mean_los_emergency_days",
    "emergency_readmission_30d_rate",
)


def parse_month(value: str | dt.date) -> dt.date:
    """'2016-04' or a date -> first day of that month."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    try:
        year, month = str(value).split("-")[:2]
        return dt.date(int(year), int(month), 1)
    except (ValueError, TypeError):
        raise ValueError(f"expected a month as YYYY-MM, got {value!r}") from None


class EffectSpec(BaseModel):
    """A benefit injected at go-live: the measure's underlying rate is multiplied by
    `rate_ratio`, reached linearly over `ramp_months` months (1 = a step)."""

    model_config = ConfigDict(extra="forbid")

    measure: Literal[EFFECT_MEASURES]  # type: ignore[valid-type]
    go_live: dt.date
    rate_ratio: float = Field(gt=0)
    ramp_months: int = Field(default=1, ge=1)

    @field_validator("go_live", mode="before")
    @classmethod
    def _month(cls, v):
        return parse_month(v)


class SimulationSpec(BaseModel):
    """Typed simulation settings for one site.

    `scale` is relative to a large acute trust (about 1M scheduled doses, 1.5k incidents
    and 9k spells a month); the bundled demo uses 0.01-0.02.
    """

    model_config = ConfigDict(extra="forbid")

    ods_code: str = Field(pattern=r"^[A-Z0-9]{3,5}$")
    trust_type: Literal["acute", "mental_health", "community", "ambulance"] = "acute"
    seed: int = 0
    scale: float = Field(default=0.015, gt=0, le=20)
    start: dt.date = dt.date(2016, 4, 1)
    end: dt.date = dt.date(2019, 3, 1)  # last month simulated (inclusive)
    flavour: Literal["local_csv", "contract_parquet"] = "local_csv"
    defect_rate: float = Field(default=0.001, ge=0, le=0.2)
    effects: list[EffectSpec] = Field(default_factory=list)
    datasets: tuple[str, ...] = SIMULATED_DATASETS

    @field_validator("start", "end", mode="before")
    @classmethod
    def _months(cls, v):
        return parse_month(v)

    @model_validator(mode="after")
    def _check(self):
        if self.end < self.start:
            raise ValueError(f"end {self.end:%Y-%m} is before start {self.start:%Y-%m}")
        for d in self.datasets:
            if d not in SIMULATED_DATASETS:
                raise ValueError(f"cannot simulate dataset {d!r}; choose from {', '.join(SIMULATED_DATASETS)}")
        return self

    def months(self) -> list[dt.date]:
        out, m = [], self.start
        while m <= self.end:
            out.append(m)
            m = dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)
        return out
