"""The submission package: what a trust sends and the national collector checks, defined once.

A package is a folder `<inbox>/<ODS>-<first YYYY-MM>-<last YYYY-MM>-<UTC YYYYMMDDTHHMMSSZ>/` with
one Parquet file per kind below, `manifest.json` (this module's `Manifest`, serialised by
`manifest_bytes`) and `manifest.sig` (the Ed25519 signature of exactly those bytes), written last:
a folder without the signature is still being written and the collector leaves it alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from benefits.tables import FACT_BENEFIT, FACT_BENEFIT_SPC, FACT_UNPLANNED_CHANGE, MartTable

FORMAT = "benefits-package/2"  # 2: the unplanned kind
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
MAX_MANIFEST_BYTES = 1 << 20  # a manifest lists a handful of files; anything near this is an attack
MAX_FILE_BYTES = 1 << 30
_NAME = re.compile(r"^(?P<site>[A-Z0-9]{3,5})-(?P<first>\d{4}-\d{2})-(?P<last>\d{4}-\d{2})-(?P<created>\d{8}T\d{6}Z)$")
_FILE_NAME = re.compile(r"^[a-z_]+\.parquet$")


def _arrow(logical: str) -> pa.DataType:
    return {
        "varchar": pa.string(),
        "date": pa.date32(),
        "double": pa.float64(),
        "bigint": pa.int64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us"),
    }[logical]


def _schema(columns: dict[str, str]) -> pa.Schema:
    return pa.schema([(c, _arrow(t)) for c, t in columns.items()])


def _national_columns(table: MartTable) -> dict[str, str]:
    return dict(table.types)


# The site's national-contract measure rows: its own lattice (month, financial quarter, financial
# year) after disclosure control at the trust; a withheld entry has null counts and value.
MEASURE_COLUMNS = {
    "site_code": "varchar",
    "measure_code": "varchar",
    "period_type": "varchar",  # month | quarter | year
    "period_start": "date",
    "financial_year": "varchar",
    "financial_quarter": "bigint",
    "months": "bigint",
    "numerator": "double",
    "denominator": "double",
    "value": "double",
    "suppressed": "boolean",
    "suppression_reason": "varchar",
}
# Data-quality summary per dataset and month: operational counts of records, not of patients.
DQ_ROWS_COLUMNS = {
    "site_code": "varchar",
    "dataset": "varchar",
    "month": "date",
    "batches": "bigint",
    "rows_in": "bigint",
    "rows_loaded": "bigint",
    "rows_quarantined": "bigint",
}
DQ_RULES_COLUMNS = {
    "site_code": "varchar",
    "dataset": "varchar",
    "month": "date",
    "rule": "varchar",  # the check category (completeness, validity, ...)
    "checks": "bigint",
    "checks_passed": "bigint",
    "pass_rate": "double",
}


@dataclass(frozen=True)
class Kind:
    name: str  # file stem and collected table name
    columns: dict[str, str]
    description: str

    @property
    def file(self) -> str:
        return f"{self.name}.parquet"

    @property
    def schema(self) -> pa.Schema:
        return _schema(self.columns)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("measures", MEASURE_COLUMNS, "national measures at organisation level, disclosure-controlled"),
        Kind("benefits", _national_columns(FACT_BENEFIT), "national-scope benefits, one row per as-of month"),
        Kind("benefit_spc", _national_columns(FACT_BENEFIT_SPC), "SPC points of the national-scope benefits"),
        Kind("dq_rows", DQ_ROWS_COLUMNS, "rows in, loaded and quarantined per dataset and month"),
        Kind("dq_rules", DQ_RULES_COLUMNS, "checks and pass rate per dataset, month and rule"),
        Kind("unplanned", _national_columns(FACT_UNPLANNED_CHANGE),
             "the unplanned-change scan's signals on national measures (the site's latest scan)"),
    )
}


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    kind: str
    rows: int = Field(ge=0)
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class SiteInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    region: str | None = None
    trust_type: str | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: str = FORMAT
    site_code: str = Field(pattern=r"^[A-Z0-9]{3,5}$")
    first_month: str = Field(pattern=r"^\d{4}-\d{2}$")
    last_month: str = Field(pattern=r"^\d{4}-\d{2}$")
    created_at: str  # UTC, ISO 8601 with Z
    software_version: str
    suppression_threshold: int = Field(ge=1)
    contract_versions: dict[str, str]  # dataset -> sha256 of its contract's columns and rules
    measure_versions: dict[str, str]  # measure_code -> sha256 of the measure's SQL file
    site: SiteInfo = SiteInfo()
    files: list[FileEntry]


def manifest_bytes(manifest: Manifest) -> bytes:
    """The exact bytes written to manifest.json and signed: sorted keys, so both sides agree."""
    return (json.dumps(manifest.model_dump(mode="json"), sort_keys=True, indent=2) + "\n").encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_name(site: str, first: str, last: str, created: dt.datetime) -> str:
    return f"{site}-{first}-{last}-{created.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}"


@dataclass(frozen=True)
class PackageName:
    site: str
    first: str
    last: str
    created: str

    @property
    def sort_key(self) -> tuple[str, str, str]:
        return (self.created, self.site, self.first)


def parse_name(name: str) -> PackageName | None:
    m = _NAME.match(name)
    return PackageName(m["site"], m["first"], m["last"], m["created"]) if m else None


def safe_file_name(name: str) -> bool:
    """A manifest may only name plain Parquet files inside the package (no paths, no `..`)."""
    return bool(_FILE_NAME.match(name))


RECEIPTS = "receipts"
INBOX, ACCEPTED, REJECTED = "inbox", "accepted", "rejected"


class Receipt(BaseModel):
    """`<root>/receipts/<package>.json`: what the collector decided, for the site to read back."""

    model_config = ConfigDict(extra="forbid")
    package: str
    site_code: str | None
    status: str  # accepted | rejected
    reasons: list[str]  # empty when accepted; each a one-line reason naming the file, row or field
    received_at: str  # UTC ISO 8601
    replaces: list[str] = []  # earlier packages of the same site and months that this one superseded
    data_quality: list[dict] = []  # per dataset: months, rows_in, rows_quarantined, lowest pass rate
