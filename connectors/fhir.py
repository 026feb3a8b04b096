"""`fhir`: a FHIR R4 search (MedicationAdministration, Encounter, ...) flattened onto a contract.

The connector searches `{base_url}/{resource_type}`, follows each Bundle's `next` link, and
turns every resource into one row through `fields`: contract column -> path into the resource.
A path is dotted (`dosage.dose.value`), may index a list (`identifier[0].value`; a list without
an index means its first item), may pick the first item matching a key
(`coding[system=https://dmd.nhs.uk].code`, `extension[url=...].valueBoolean`), and may list
alternatives for FHIR choice types (`effectiveDateTime|effectivePeriod.start`).

FHIR date-times carry an offset; they are turned into local wall-clock time (`timezone`,
default Europe/London) because that is what the contracts' timestamps mean.

Incremental by `_lastUpdated`: each run asks for resources updated after the newest
`meta.lastUpdated` of the last load.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from connectors.base import Connector, ConnectorConfig, ConnectorError
from connectors.http import Auth, HttpClient, display_url

LAST_UPDATED = "_last_updated"

DEFAULT_FIELDS: dict[str, dict[str, str]] = {
    "MedicationAdministration": {
        "administration_id": "id",
        "patient_ref": "subject.reference",
        "drug_code": "medicationCodeableConcept.coding[system=https://dmd.nhs.uk].code",
        "administered_at": "effectiveDateTime|effectivePeriod.start",
        "status": "status",
        "omission_reason": "statusReason.coding.code",
        "dose_value": "dosage.dose.value",
        "dose_unit": "dosage.dose.unit",
    },
    "Encounter": {
        "spell_id": "id",
        "patient_ref": "subject.reference",
        "ward_code": "location.location.identifier.value|location.location.display",
        "admitted_at": "period.start",
        "discharged_at": "period.end",
        "admission_method": "extension[url=https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod]"
        ".valueCodeableConcept.coding.code",
        "main_specialty_code": "serviceType.coding.code",
        "discharge_destination": "hospitalization.dischargeDisposition.coding.code",
    },
}

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_SEGMENT = re.compile(r"^([^\[\]]*)((?:\[[^\]]*\])*)$")


def _split(path: str, sep: str) -> list[str]:
    """Split on `sep` outside square brackets (filters hold URLs with dots)."""
    out, depth, cur = [], 0, []
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else (None if isinstance(value, list) else value)


def resolve(resource: Any, path: str) -> Any:
    """The value at `path` in a resource (see the module docstring), or None."""
    for alternative in _split(path, "|"):
        value = _resolve_one(resource, alternative.strip())
        if value is not None:
            return value
    return None


def _resolve_one(obj: Any, path: str) -> Any:
    for segment in _split(path, "."):
        m = _SEGMENT.match(segment)
        if m is None:
            raise ConnectorError(f"bad FHIR path segment {segment!r} in {path!r}")
        name, filters = m.group(1), re.findall(r"\[([^\]]*)\]", m.group(2))
        if name:
            obj = _child(obj, name)
        for f in filters:
            if obj is None:
                return None
            obj = _filtered(obj, f, path)
        if obj is None:
            return None
    return _first(obj) if isinstance(obj, list) else obj


def _child(obj: Any, name: str) -> Any:
    obj = _first(obj) if isinstance(obj, list) else obj
    return obj.get(name) if isinstance(obj, dict) else None


def _filtered(obj: Any, f: str, path: str) -> Any:
    """`[n]` picks the nth item (from the end when negative), `[key=value]` the first item with that value."""
    items = obj if isinstance(obj, list) else [obj]
    if f.lstrip("-").isdigit():
        i = int(f)
        return items[i] if -len(items) <= i < len(items) else None
    if "=" in f:
        key, _, want = f.partition("=")
        return next((x for x in items if isinstance(x, dict) and str(x.get(key.strip())) == want.strip()), None)
    raise ConnectorError(f"bad FHIR path filter [{f}] in {path!r}")


class FhirConfig(ConnectorConfig):
    base_url: str = Field(description="the FHIR server's base URL, e.g. https://fhir.trust.nhs.uk/R4")
    resource_type: str = Field(description="resource to search, e.g. MedicationAdministration or Encounter")
    search: dict[str, str] = Field(default_factory=dict, description="search parameters, e.g. {status: completed}")
    fields: dict[str, str] = Field(
        default_factory=dict, description="contract column -> path in the resource; adds to / overrides the defaults"
    )
    auth: Auth | None = Field(default=None, description="api_key, bearer or oauth2_client_credentials")
    page_size: int = Field(default=500, ge=1, le=5000, description="_count per search page")
    incremental: bool = Field(default=True, description="ask only for resources updated since the last load")
    timezone: str = Field(default="Europe/London", description="local time zone of the contract's timestamps")
    max_pages: int = Field(default=100_000, ge=1, description="stop with an error past this many pages")
    verify_tls: bool = Field(default=True, description="verify the server's TLS certificate")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class FhirConnector(Connector):
    name = "fhir"
    config_model = FhirConfig
    # server, credentials and paging fetch the resources; they do not shape them
    fetch_options = Connector.fetch_options | {"base_url", "auth", "page_size", "max_pages", "verify_tls"}
    replication_key = LAST_UPDATED
    incremental_by = "_lastUpdated (meta.lastUpdated)"
    description = "a FHIR R4 search following Bundle next links, flattened onto the contract, incremental by _lastUpdated"
    config: FhirConfig

    def source_label(self) -> str:
        return f"{display_url(self.config.base_url.rstrip('/'))}/{self.config.resource_type}"

    @property
    def replication_column(self) -> str | None:
        return LAST_UPDATED if self.config.incremental else None

    @property
    def fields(self) -> dict[str, str]:
        merged = {**DEFAULT_FIELDS.get(self.config.resource_type, {}), **self.config.fields}
        known = set(self.contract.column_names)
        return {k: v for k, v in merged.items() if k in known}

    def _local(self, value: Any, zone: ZoneInfo) -> Any:
        if isinstance(value, str) and _DATETIME.match(value):
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return when.astimezone(zone).replace(tzinfo=None).isoformat(sep=" ")
        return value

    def row(self, resource: dict, zone: ZoneInfo) -> dict:
        row = {col: self._local(resolve(resource, path), zone) for col, path in self.fields.items()}
        updated = (resource.get("meta") or {}).get("lastUpdated")
        if isinstance(updated, str) and _DATETIME.match(updated):
            updated = (
                dt.datetime.fromisoformat(updated.replace("Z", "+00:00"))
                .astimezone(dt.timezone.utc)
                .strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            )
        row[LAST_UPDATED] = updated
        return row

    def batches(self) -> Iterator[list[dict]]:
        cfg = self.config
        if not self.fields:
            raise ConnectorError(
                f"no `fields` map {cfg.resource_type} onto {self.contract.name}; "
                f"give contract column -> resource path for {', '.join(self.contract.column_names)}"
            )
        zone = ZoneInfo(cfg.timezone)
        client = HttpClient(self, cfg.auth, {"Accept": "application/fhir+json"}, cfg.verify_tls)
        url: str | None = f"{cfg.base_url.rstrip('/')}/{cfg.resource_type}"
        params: dict[str, Any] | None = self._first_search()
        seen: set[str] = set()
        buffer: list[dict] = []
        try:
            for n in range(cfg.max_pages + 1):
                if url is None:
                    break
                if n == cfg.max_pages:
                    raise ConnectorError(f"more than max_pages={cfg.max_pages} search pages; stopping")
                bundle, response = client.get_json(url, params, what="search")
                fetched = response.url or url
                seen.add(fetched)
                params = None  # a next link carries its own query
                buffer.extend(self._resources(bundle, fetched, zone))
                if len(buffer) >= cfg.batch_size:
                    yield buffer
                    buffer = []
                url = _next_link(bundle, fetched, seen)
            if buffer:
                yield buffer
        finally:
            client.close()

    def _first_search(self) -> dict[str, Any]:
        """The first page's query: the configured search, the page size and, when incremental, the watermark."""
        params: dict[str, Any] = {**self.config.search, "_count": self.config.page_size}
        if self.replication_column and self.start_value is not None:
            params["_lastUpdated"] = f"gt{self.start_value}"
        return params

    def _resources(self, bundle: Any, url: str, zone: ZoneInfo) -> list[dict]:
        where = display_url(url)
        if not isinstance(bundle, dict):
            raise ConnectorError(f"{where}: expected a FHIR Bundle, got {type(bundle).__name__}")
        kind = bundle.get("resourceType")
        if kind == "OperationOutcome":
            raise ConnectorError(f"{where}: the server answered with an OperationOutcome: {_issues(bundle)}")
        if kind != "Bundle":
            raise ConnectorError(f"{where}: expected a FHIR Bundle, got resourceType {kind!r}")
        rows = []
        for entry in bundle.get("entry") or []:
            resource = (entry or {}).get("resource") or {}
            if resource.get("resourceType") == self.config.resource_type:
                rows.append(self.row(resource, zone))
            elif resource.get("resourceType") == "OperationOutcome" and "error" in _issues(resource):
                raise ConnectorError(f"{where}: the search reported: {_issues(resource)}")
        return rows


def _issues(outcome: dict) -> str:
    parts = []
    for issue in outcome.get("issue") or []:
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or issue.get("code")
        parts.append(f"{issue.get('severity', 'error')}: {text}")
    return "; ".join(parts)[:500] or "no details"


def _next_link(bundle: dict, fetched: str, seen: set[str]) -> str | None:
    """The Bundle's `next` link resolved against the page it came from; a link back to a page already
    fetched is a loop, not more data."""
    nxt = next((link.get("url") for link in bundle.get("link") or [] if link.get("relation") == "next"), None)
    url = urljoin(fetched, nxt) if nxt else None
    if url is not None and url in seen:
        raise ConnectorError(f"pagination loop: the Bundle's next link points back to {display_url(url)}")
    return url
