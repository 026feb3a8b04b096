"""`ods`: organisation name, primary role and NHS England region from the ODS ORD API.

The Organisation Data Service's ORD API (`{base_url}/organisations/{code}`) answers with
`{"Organisation": {"Name", "OrgId", "Roles": {"Role": [...]}, "Rels": {"Rel": [...]}}}`. The
region is the organisation a relationship points to whose primary role is an NHS England
region (RO209, or the older RO210); when the organisation's own record has none, the
commissioner it points to (an ICB: RO318, or RO261 as ICBs are recorded; a CCG: RO98) is asked in turn.

`refresh(wh, org_codes)` keeps `meta.ods_organisation` (org_code, name, primary_role, region,
fetched_at) filled for the national mart's `dim_site`: codes fetched within `max_age_days`
are not asked again, and an unreachable API only logs a warning; the cached rows stay.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from pydantic import Field, field_validator

from connectors.base import Connector, ConnectorConfig, ConnectorError, ExtractContext
from connectors.http import HttpClient, HttpError, display_url
from dataset_contracts.contracts import Column, Contract

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://directory.spineservices.nhs.uk/ORD/2-0-0"
REGION_ROLES = ("RO209", "RO210")
COMMISSIONER_ROLES = ("RO318", "RO261", "RO98")
TABLE = "meta.ods_organisation"

# Display names of the roles a provider or publisher usually has (ORD's /roles lists all).
ROLE_NAMES = {
    "RO197": "NHS TRUST",
    "RO57": "FOUNDATION TRUST",
    "RO198": "NHS TRUST SITE",
    "RO172": "INDEPENDENT SECTOR HEALTHCARE PROVIDER",
    "RO176": "INDEPENDENT SECTOR H/C PROVIDER SITE",
    "RO107": "CARE TRUST",
    "RO116": "EXECUTIVE AGENCY",
    "RO161": "NHS SUPPORT AGENCY",
    "RO162": "OTHER STATUTORY AUTHORITY (OSA)",
    "RO189": "SPECIAL HEALTH AUTHORITY (SPHA)",
    "RO209": "NHS ENGLAND (REGION)",
    "RO210": "NHS ENGLAND (REGION, LOCAL OFFICE)",
    "RO261": "STRATEGIC PARTNERSHIP",
    "RO318": "INTEGRATED CARE BOARD",
    "RO98": "CLINICAL COMMISSIONING GROUP",
    "RO76": "GP PRACTICE",
    "RO177": "PRESCRIBING COST CENTRE",
}

ODS_ORGANISATION = Contract(
    name="ods_organisation",
    description="An organisation's name, primary role and NHS England region from ODS",
    key="org_code",
    period_column="fetched_at",
    site_column="org_code",
    columns=(
        Column("org_code", "varchar", description="ODS code"),
        Column("name", "varchar", description="organisation name as ODS records it"),
        Column("primary_role", "varchar", required=False, description="display name of the primary role"),
        Column("region", "varchar", required=False, description="NHS England region name"),
        Column("fetched_at", "timestamp", description="when ODS was asked"),
    ),
)


class OdsConfig(ConnectorConfig):
    org_codes: list[str] = Field(min_length=1, description="ODS codes to look up")
    base_url: str = Field(default=DEFAULT_BASE_URL, description="the ORD API's base URL")
    skip_unknown: bool = Field(default=True, description="an unknown code is logged and skipped, not an error")
    timeout_seconds: float = Field(default=10.0, gt=0, description="timeout of one request")

    @field_validator("org_codes")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        out = []
        for code in v:
            c = code.strip().upper()
            if not c.isalnum() or not 3 <= len(c) <= 10:
                raise ValueError(f"{code!r} is not an ODS code")
            out.append(c)
        return list(dict.fromkeys(out))


def _active(items: list[dict]) -> list[dict]:
    return [x for x in items if (x.get("Status") or "Active").lower() == "active"]


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class OdsConnector(Connector):
    name = "ods"
    contract_spec = ODS_ORGANISATION
    dataset = "ods_organisation"
    config_model = OdsConfig
    description = "organisation name, primary role and region from the ODS ORD API (for national.dim_site)"
    config: OdsConfig

    def __init__(self, config, ctx):
        super().__init__(config, ctx)
        self._orgs: dict[str, dict | None] = {}
        self.unknown: list[str] = []

    def source_label(self) -> str:
        return display_url(self.config.base_url.rstrip("/")) + "/organisations"

    def _organisation(self, client: HttpClient, code: str) -> dict | None:
        if code in self._orgs:
            return self._orgs[code]
        url = f"{self.config.base_url.rstrip('/')}/organisations/{code}"
        try:
            body, _ = client.get_json(url, what=f"look up {code}")
        except HttpError as e:
            if e.status in (404, 410):
                self._orgs[code] = None
                return None
            raise
        org = body.get("Organisation") if isinstance(body, dict) else None
        if not isinstance(org, dict):
            raise ConnectorError(f"{display_url(url)}: no Organisation in the response")
        self._orgs[code] = org
        return org

    @staticmethod
    def _rels(org: dict) -> list[dict]:
        return _active(_as_list((org.get("Rels") or {}).get("Rel")))

    def _region(self, client: HttpClient, org: dict, hops: int = 2) -> str | None:
        rels = self._rels(org)
        for roles in (REGION_ROLES, COMMISSIONER_ROLES):
            for rel in rels:
                target = rel.get("Target") or {}
                role = (target.get("PrimaryRoleId") or {}).get("id")
                code = (target.get("OrgId") or {}).get("extension")
                if role not in roles or not code:
                    continue
                other = self._organisation(client, code)
                if other is None:
                    continue
                if roles is REGION_ROLES:
                    return other.get("Name") or code
                if hops > 1:
                    found = self._region(client, other, hops - 1)
                    if found:
                        return found
        return None

    @staticmethod
    def primary_role(org: dict) -> str | None:
        roles = _as_list((org.get("Roles") or {}).get("Role"))
        primary = next((r for r in roles if r.get("primaryRole")), roles[0] if roles else None)
        if not primary:
            return None
        rid = primary.get("id")
        return ROLE_NAMES.get(rid, rid)

    def batches(self) -> Iterator[list[dict]]:
        client = HttpClient(self, None)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
        rows = []
        try:
            for code in self.config.org_codes:
                org = self._organisation(client, code)
                if org is None:
                    if not self.config.skip_unknown:
                        raise ConnectorError(f"ODS has no organisation {code}")
                    log.warning("%s: ODS has no organisation %s; skipped", self.describe(), code)
                    self.unknown.append(code)
                    continue
                rows.append(
                    {
                        "org_code": ((org.get("OrgId") or {}).get("extension") or code).upper(),
                        "name": org.get("Name"),
                        "primary_role": self.primary_role(org),
                        "region": self._region(client, org),
                        "fetched_at": now.isoformat(sep=" "),
                    }
                )
        finally:
            client.close()
        if rows:
            yield rows


# -- the warehouse cache --------------------------------------------------------------------
@dataclass
class RefreshResult:
    fetched: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    error: str | None = None  # why the API could not be used this time (rows stay as they were)


def ensure_table(wh) -> None:
    ts = "timestamp"
    with wh.begin() as conn:
        conn.execute(sa.text("create schema if not exists meta"))
        conn.execute(
            sa.text(
                f"create table if not exists {TABLE} (org_code varchar primary key, name varchar, "
                f"primary_role varchar, region varchar, fetched_at {ts})"
            )
        )


def refresh(
    wh,
    org_codes: list[str],
    *,
    base_url: str = DEFAULT_BASE_URL,
    max_age_days: float = 30,
    timeout_seconds: float = 10.0,
    retries: int = 1,
) -> RefreshResult:
    """Fetch the codes not fetched within `max_age_days` into meta.ods_organisation.

    Never raises for the API: an unreachable or failing ODS leaves the cached rows as they are
    and says why in `RefreshResult.error` (and a warning in the log).
    """
    codes = list(dict.fromkeys(c.strip().upper() for c in org_codes if c and c.strip()))
    result = RefreshResult()
    ensure_table(wh)
    if not codes:
        return result
    fresh = _fetched_since(wh, max_age_days)
    result.cached = [c for c in codes if c in fresh]
    stale = [c for c in codes if c not in fresh]
    if not stale:
        return result
    ctx = ExtractContext(site_code="", dataset=ODS_ORGANISATION.name, source_name="ods_refresh")
    try:
        connector = OdsConnector(
            {"org_codes": stale, "base_url": base_url, "timeout_seconds": timeout_seconds, "retries": retries,
             "backoff_seconds": 0.5},
            ctx,
        )
        rows = [r for batch in connector.batches() for r in batch]
    except Exception as exc:  # noqa: BLE001 - a run must not fail because ODS is unreachable
        err = connector.as_connector_error(exc) if "connector" in locals() else exc
        result.error = str(err)
        log.warning("ODS lookup skipped; cached names and regions are used: %s", result.error)
        return result
    result.unknown = connector.unknown
    if rows:
        result.fetched = _store(wh, rows)
    return result


def _fetched_since(wh, max_age_days: float) -> set[str]:
    """The codes whose cached row is younger than `max_age_days`."""
    cutoff = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=max_age_days)
    return set(
        wh.query(f"select org_code from {TABLE} where fetched_at >= :c", {"c": cutoff})["org_code"].astype(str)
    )


def _store(wh, rows: list[dict]) -> list[str]:
    """Replace the cached rows of the fetched codes in one transaction; returns the codes stored."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    frame["fetched_at"] = pd.to_datetime(frame["fetched_at"])
    with wh.begin() as conn:
        conn.execute(
            sa.text(f"delete from {TABLE} where org_code in ({', '.join(f':c{i}' for i in range(len(frame)))})"),
            {f"c{i}": c for i, c in enumerate(frame["org_code"])},
        )
        conn.execute(
            sa.text(
                f"insert into {TABLE} (org_code, name, primary_role, region, fetched_at) "
                "values (:org_code, :name, :primary_role, :region, :fetched_at)"
            ),
            frame.astype(object).where(frame.notna(), None).to_dict("records"),
        )
    return list(frame["org_code"])


def refresh_for_run(wh, org_codes: list[str]) -> RefreshResult | None:
    """What a pipeline run calls: ODS is asked only where `BENEFITS_ODS_URL` says where it is
    (tests and air-gapped deployments never reach out); it never raises."""
    base_url = os.environ.get("BENEFITS_ODS_URL", "").strip()
    if not base_url or base_url.lower() in ("off", "none", "false", "0"):
        return None
    max_age = float(os.environ.get("BENEFITS_ODS_MAX_AGE_DAYS", "30"))
    try:
        return refresh(wh, org_codes, base_url=base_url, max_age_days=max_age)
    except Exception as exc:  # noqa: BLE001 - the warehouse side failing must not stop the run either
        log.warning("ODS refresh failed: %s", exc)
        return RefreshResult(error=str(exc))
