"""Dataset contracts: what every site's connector must deliver for a dataset.

Column names, types and code sets here are fixed national contracts; sites map their local
values onto them. docs/contracts.md is their reference, generated from this module by
`benefits docs`. Everything else (suites, staging DDL, the
simulator's contract-native flavour, connector output checks) derives from this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

# Logical type -> (DuckDB type, PostgreSQL type, Arrow type)
TYPES: dict[str, tuple[str, str, pa.DataType]] = {
    "varchar": ("varchar", "text", pa.string()),
    "bigint": ("bigint", "bigint", pa.int64()),
    "double": ("double", "double precision", pa.float64()),
    "boolean": ("boolean", "boolean", pa.bool_()),
    "date": ("date", "date", pa.date32()),
    "timestamp": ("timestamp", "timestamp", pa.timestamp("us")),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = True  # must be present and not null
    values: tuple[str, ...] | None = None  # closed national code set
    min_value: float | None = None
    description: str = ""
    # a code made of digits only, (shortest, longest) characters long, e.g. (3, 3) for specialties
    digits: tuple[int, int] | None = None
    # longest value of a text column; default dataset_contracts.safe_text.CODE_MAX_LENGTH
    max_length: int | None = None

    def sql_type(self, dialect: str) -> str:
        duck, pg, _ = TYPES[self.type]
        return pg if dialect == "postgresql" else duck

    @property
    def arrow_type(self) -> pa.DataType:
        return TYPES[self.type][2]

    @property
    def free_text(self) -> bool:
        """Text that no code list or digit format already constrains (ids, codes, references)."""
        return self.type == "varchar" and self.values is None and self.digits is None


@dataclass(frozen=True)
class Contract:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: str
    period_column: str  # the column whose month places a row in a reporting period
    site_column: str = "site_code"
    # (later, earlier, severity): later must be >= earlier when both are present
    ordered_pairs: tuple[tuple[str, str, str], ...] = ()
    # (smaller, larger, severity): smaller must be <= larger when both are present
    bounded_pairs: tuple[tuple[str, str, str], ...] = ()
    # timestamp/date columns that must not lie in the future
    not_future: tuple[str, ...] = ()
    # date columns that hold the first day of a month
    month_columns: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"dataset {self.name!r} has no column {name!r}")

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])


# Identifiers and pseudonymised references: room for a hash or GUID with a prefix.
ID_MAX_LENGTH = 128

DOSE_STATUSES = ("given", "omitted", "refused", "not_required")
DOSE_UNITS = ("mg", "g", "microgram", "ml", "unit", "dose")
INCIDENT_CATEGORIES = (
    "medication",
    "patient_identification",
    "fall",
    "pressure_ulcer",
    "deterioration",
    "other",
)
HARM_LEVELS = ("no_harm", "low", "moderate", "severe", "fatal")
MEDICATION_STAGES = ("prescribing", "dispensing", "administration", "monitoring")
ADMISSION_METHODS = ("elective", "emergency", "maternity", "other")
DISCHARGE_DESTINATIONS = ("home", "care_home", "other_provider", "died", "other")
DEPT_TYPES = ("1", "2", "other")

AE_MONTHLY = Contract(
    name="ae_monthly",
    description="A&E attendances, 4-hour breaches and emergency admissions per organisation, month and department type",
    key="org_code, period, dept_type",
    period_column="period",
    site_column="org_code",
    columns=(
        Column("period", "date", description="first day of the month"),
        Column("org_code", "varchar", description="ODS code of the provider"),
        Column("dept_type", "varchar", values=DEPT_TYPES, description="A&E department type"),
        Column("attendances", "bigint", min_value=0, description="attendances in the month"),
        Column("breaches_4h", "bigint", min_value=0, description="attendances over 4 hours"),
        Column("emergency_admissions", "bigint", min_value=0, description="emergency admissions via A&E"),
    ),
    bounded_pairs=(
        ("breaches_4h", "attendances", "error"),
        ("emergency_admissions", "attendances", "warning"),
    ),
    not_future=("period",),
    month_columns=("period",),
)

MEDICATION_ADMINISTRATIONS = Contract(
    name="medication_administrations",
    description="One scheduled dose of a medicine and what happened to it",
    key="administration_id",
    period_column="scheduled_at",
    columns=(
        Column("administration_id", "varchar", max_length=ID_MAX_LENGTH, description="unique id of the scheduled dose"),
        Column("site_code", "varchar", description="ODS code of the trust"),
        Column("patient_ref", "varchar", max_length=ID_MAX_LENGTH, description="pseudonymised patient reference"),
        Column("ward_code", "varchar", description="site ward code"),
        Column("drug_code", "varchar", digits=(6, 18), description="dm+d code of the medicine"),
        Column("critical_medicine", "boolean", description="on the trust's critical medicines list"),
        Column("scheduled_at", "timestamp", description="when the dose was due"),
        Column("administered_at", "timestamp", required=False, description="when given; null unless given"),
        Column("status", "varchar", values=DOSE_STATUSES, description="what happened to the dose"),
        Column("omission_reason", "varchar", required=False, max_length=255, description="reason code when not given"),
        Column("dose_value", "double", min_value=0, description="dose amount"),
        Column("dose_unit", "varchar", values=DOSE_UNITS, description="unit of dose_value"),
    ),
    ordered_pairs=(("administered_at", "scheduled_at", "error"),),
    not_future=("scheduled_at", "administered_at"),
)

PATIENT_SAFETY_INCIDENTS = Contract(
    name="patient_safety_incidents",
    description="One reported patient safety incident",
    key="incident_id",
    period_column="occurred_at",
    columns=(
        Column("incident_id", "varchar", max_length=ID_MAX_LENGTH, description="unique incident reference"),
        Column("site_code", "varchar", description="ODS code of the trust"),
        Column("ward_code", "varchar", description="site ward code where it occurred"),
        Column("occurred_at", "timestamp", description="when the incident happened"),
        Column("reported_at", "timestamp", description="when it was reported"),
        Column("category", "varchar", values=INCIDENT_CATEGORIES, description="incident category"),
        Column("harm_level", "varchar", values=HARM_LEVELS, description="degree of harm"),
        Column(
            "medication_stage",
            "varchar",
            required=False,
            values=MEDICATION_STAGES,
            description="stage of the medication process, medication incidents only",
        ),
    ),
    ordered_pairs=(("reported_at", "occurred_at", "error"),),
    not_future=("occurred_at", "reported_at"),
)

INPATIENT_SPELLS = Contract(
    name="inpatient_spells",
    description="One hospital provider spell",
    key="spell_id",
    period_column="admitted_at",
    columns=(
        Column("spell_id", "varchar", max_length=ID_MAX_LENGTH, description="unique spell id"),
        Column("site_code", "varchar", description="ODS code of the trust"),
        Column("patient_ref", "varchar", max_length=ID_MAX_LENGTH, description="pseudonymised patient reference"),
        Column("ward_code", "varchar", description="site ward code of admission"),
        Column("admitted_at", "timestamp", description="admission date and time"),
        Column("discharged_at", "timestamp", required=False, description="discharge; null while in hospital"),
        Column("admission_method", "varchar", values=ADMISSION_METHODS, description="admission method group"),
        Column("main_specialty_code", "varchar", digits=(3, 3), description="NHS main specialty code, 3 digits"),
        Column(
            "discharge_destination",
            "varchar",
            required=False,
            values=DISCHARGE_DESTINATIONS,
            description="discharge destination group; null while in hospital",
        ),
    ),
    ordered_pairs=(("discharged_at", "admitted_at", "error"),),
    not_future=("admitted_at", "discharged_at"),
)

CONTRACTS: dict[str, Contract] = {
    c.name: c for c in (AE_MONTHLY, MEDICATION_ADMINISTRATIONS, PATIENT_SAFETY_INCIDENTS, INPATIENT_SPELLS)
}


def get_contract(name: str) -> Contract:
    try:
        return CONTRACTS[name]
    except KeyError:
        raise KeyError(f"unknown dataset contract {name!r}; known: {', '.join(sorted(CONTRACTS))}") from None
