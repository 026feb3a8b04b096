"""A site's Statement of Planned Benefits, as typed records.

Unanticipated benefits and disbenefits are recorded in the same form with `kind` set, so
one register holds everything a site claims or has found.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def month_start(value) -> dt.date:
    """Accept 'YYYY-MM', 'YYYY-MM-DD' or a date; return the first day of that month."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = str(value).strip()
    try:
        parts = text.split("-")
        return dt.date(int(parts[0]), int(parts[1]), 1)
    except (ValueError, IndexError):
        raise ValueError(f"expected a month as YYYY-MM, got {value!r}") from None


class Direction(str, Enum):
    higher = "higher"
    lower = "lower"
    neutral = "neutral"


class Category(str, Enum):
    safety_and_quality = "safety_and_quality"
    clinical_outcomes = "clinical_outcomes"
    patient_experience = "patient_experience"
    staff_experience = "staff_experience"
    resource_sustainability = "resource_sustainability"
    financial = "financial"


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: dt.date
    end: dt.date

    @field_validator("start", "end", mode="before")
    @classmethod
    def _month(cls, v):
        return month_start(v)

    @model_validator(mode="after")
    def _order(self):
        if self.end < self.start:
            raise ValueError(f"baseline end {self.end:%Y-%m} is before its start {self.start:%Y-%m}")
        return self


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float
    date: dt.date | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _month(cls, v):
        return None if v is None else month_start(v)


class Valuation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["cash_releasing", "non_cash_releasing", "public_money"] = Field(
        description="cash_releasing: money the trust can take out of its budget; non_cash_releasing: capacity or "
        "quality the trust keeps (staff time, bed days reused); public_money: value that falls to the public purse "
        "outside the trust (other NHS bodies, social care)"
    )
    gbp_per_unit: float = Field(ge=0)
    unit: str = Field(description="what one unit of the measure's numerator is, e.g. 'bed day saved'")
    source: str = Field(description="where the unit cost comes from")


class Investment(BaseModel):
    """What a benefit or a project cost: set against its evidenced value for the return and payback."""

    model_config = ConfigDict(extra="forbid")
    one_off_gbp: float = Field(default=0.0, ge=0, description="one-off cost (implementation, hardware, training)")
    recurring_gbp_per_year: float = Field(default=0.0, ge=0, description="running cost a year (licences, support, staff)")
    start: dt.date | None = Field(
        default=None, description="month the spending starts (the one-off falls in it, the recurring cost accrues "
        "monthly from it); default: the benefit's go-live, or the earliest go-live of the project's benefits"
    )
    source: str = Field(min_length=1, description="where the figures come from (business case, contract, ledger)")

    @field_validator("start", mode="before")
    @classmethod
    def _month(cls, v):
        return None if v is None else month_start(v)

    def to_date(self, start: dt.date, month: dt.date) -> float:
        """Spent from `start` to the end of `month`: the one-off, and a twelfth of the recurring
        cost for each month from `start` to `month` inclusive."""
        if month < start:
            return 0.0
        months = (month.year - start.year) * 12 + month.month - start.month + 1
        return self.one_off_gbp + self.recurring_gbp_per_year * months / 12


class Project(BaseModel):
    """A project or system in the register: the investment shared by its benefits (those whose
    `project` is its name), and who gains and who bears the cost."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    investment: Investment | None = None
    who_gains: str | None = Field(default=None, description="patients, a staff group, the trust, the wider system")
    who_bears_cost: str | None = Field(default=None, description="who pays or carries the burden")


class Analysis(BaseModel):
    """Overrides of the engine's automatic choices for one benefit's interrupted time series."""

    model_config = ConfigDict(extra="forbid")
    family: Literal["quasipoisson", "poisson", "gaussian"] | None = Field(
        default=None, description="default: quasipoisson on counts (gaussian when the measure has no counts)"
    )
    seasonality: int | None = Field(
        default=None, ge=0, le=4, description="Fourier sine/cosine pairs (period 12); default 1 once 24 months are fitted"
    )
    trend: bool | None = Field(
        default=None,
        description="true/false: fit a secular trend or not; default: a trend once 12 months before go-live are "
        "fitted (below that a slope is mostly season and noise)",
    )
    comparator: bool | None = Field(
        default=None,
        description="false: no comparator series; default: a controlled ITS against the same measure at other "
        "sites without a benefit on it, where at least 10 such sites report every month",
    )
    slope_change: bool | None = Field(
        default=None,
        description="true: the impact model has a slope change too (it then drives the effect and the cumulative "
        "benefit); false: no slope change at all; default: a step change, with the slope change reported from "
        "a model extended with it once 12 months after ramp-in are fitted",
    )


class EvidenceItem(BaseModel):
    """A dated piece of qualitative evidence behind a benefit: a narrative, a quote, a document, a
    survey result, with who wrote or gave it. Shown beside the figures in the site report; `share`
    marks what the site lets travel with a Blueprint."""

    model_config = ConfigDict(extra="forbid")
    date: dt.date
    kind: Literal["narrative", "quote", "document", "survey"]
    text: str = Field(min_length=1, max_length=2000)
    author: str = Field(min_length=1, max_length=200)
    reference: str | None = Field(default=None, max_length=500, description="document reference, link or survey name")
    share: bool = Field(default=False, description="may travel with a Blueprint to other trusts")

    @model_validator(mode="after")
    def _no_patient_identifiers(self):
        from benefits.identifiers import patient_identifiers

        found = patient_identifiers(" ".join(t for t in (self.text, self.author, self.reference or "") if t))
        if found:
            raise ValueError(
                f"evidence of {self.date:%Y-%m-%d} holds what looks like {' and '.join(found)}: evidence sits beside "
                "published figures, so remove patient identifiers (write a number that is not an NHS number with "
                "other spacing)"
            )
        return self


class Benefit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    title: str
    project: str | None = Field(default=None, description="project or system, e.g. 'closed-loop ePMA'")
    measure: str
    go_live: dt.date
    ramp_months: int = Field(default=0, ge=0, le=36)
    baseline: Period
    target: Target | None = None
    direction: Direction | None = Field(default=None, description="overrides the measure's direction")
    category: Category = Category.safety_and_quality
    scope: Literal["national", "local"] = "local"
    owner: str | None = None
    valuation: Valuation | None = None
    kind: Literal["planned", "unanticipated_benefit", "disbenefit"] = Field(
        default="planned", description="unanticipated benefits and disbenefits are recorded in the same form"
    )
    analysis: Analysis | None = None
    investment: Investment | None = Field(default=None, description="what this benefit alone cost (a project's shared "
                                          "investment goes under `projects:`)")
    who_gains: str | None = Field(default=None, description="patients, a staff group, the trust, the wider system")
    who_bears_cost: str | None = Field(default=None, description="who pays or carries the burden")
    evidence: list[EvidenceItem] = Field(default_factory=list, description="qualitative evidence, dated, with its author")

    @field_validator("go_live", mode="before")
    @classmethod
    def _month(cls, v):
        return month_start(v)

    @model_validator(mode="after")
    def _baseline_before_go_live(self):
        if self.baseline.end >= self.go_live:
            raise ValueError(
                f"baseline must end before go-live ({self.go_live:%Y-%m}); it ends {self.baseline.end:%Y-%m}"
            )
        if self.target is not None and self.target.date is not None and self.target.date < self.go_live:
            raise ValueError(f"target date {self.target.date:%Y-%m} is before go-live ({self.go_live:%Y-%m})")
        return self


class RegisterError(ValueError):
    """A register file that cannot be used; the message names the file and the field."""


def load_register(path) -> list[Benefit]:
    """Read a Statement of Planned Benefits from YAML (a list, or a mapping with `benefits:`).

    For notebooks and tools; site configs load their registers through pipeline.config.sites.
    """
    from pathlib import Path

    import yaml
    from pydantic import TypeAdapter, ValidationError

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise RegisterError(f"{path}: cannot read the register: {e}") from None
    if isinstance(data, dict) and "benefits" in data:
        data = data["benefits"]
    if not isinstance(data, list):
        raise RegisterError(f"{path}: expected a list of benefits")
    try:
        benefits = TypeAdapter(list[Benefit]).validate_python(data)
    except ValidationError as e:
        lines = [f"{path}: invalid benefits register"]
        for err in e.errors():
            where = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {path.name}: benefits.{where}: {err['msg'].removeprefix('Value error, ')}")
        raise RegisterError("\n".join(lines)) from None
    ids = [b.id for b in benefits]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise RegisterError(f"{path}: benefit ids must be unique; repeated: {', '.join(dupes)}")
    return benefits
