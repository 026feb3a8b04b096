"""Observed benefits and disbenefits that no measure captures: what staff saw, who gains and who
bears the cost. Recorded beside the measured benefits so a report is not limited to what the
data happen to count."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from benefits.register import month_start


class Observation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["benefit", "disbenefit"]
    title: str = Field(min_length=3)
    narrative: str = Field(min_length=10, description="what was observed, in words")
    project: str | None = None
    who_gains: str | None = None
    who_bears_cost: str | None = None
    observed_from: dt.date
    recorded_by: str = Field(min_length=1)

    @field_validator("observed_from", mode="before")
    @classmethod
    def _month(cls, v):
        return month_start(v)

    @field_validator("title", "narrative", "recorded_by")
    @classmethod
    def _stripped(cls, v: str) -> str:
        return v.strip()


def next_id(existing: list[str]) -> str:
    """OBS-n, one above the highest n the site has used (ids are never reused)."""
    numbers = [int(i.split("-", 1)[1]) for i in existing if i.startswith("OBS-") and i.split("-", 1)[1].isdigit()]
    return f"OBS-{max(numbers, default=0) + 1}"
