"""Test sources for the built-in connectors: what the standard kit runs each one against.

Each is a real source: files in a drop folder, a table in a fresh PostgreSQL or MariaDB
database, recorded pages on a local HTTP server.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from pathlib import Path

import sqlalchemy as sa

from connectors.fhir import FhirConnector
from connectors.files import FilesConnector
from connectors.nhs_statistics import NhsStatisticsConnector
from connectors.ods import OdsConnector
from connectors.rest import RestConnector
from connectors.sql import SqlConnector
from connectors.testing import SourceFixture
from tests.connectors.fake_api import FIXTURES, Reply, recorded

INCIDENT_MAPPINGS = {
    "category": {"MED": "medication", "PTID": "patient_identification", "FALL": "fall", "PU": "pressure_ulcer",
                 "DET": "deterioration", "OTH": "other"},
    "harm_level": {"NONE": "no_harm", "LOW": "low", "MODERATE": "moderate", "SEVERE": "severe", "DEATH": "fatal"},
    "medication_stage": {"PRESC": "prescribing", "DISP": "dispensing", "ADMIN": "administration", "MON": "monitoring"},
}
INCIDENT_COLUMNS = {
    "IncidentRef": "incident_id", "Site": "site_code", "Location": "ward_code", "DateOccurred": "occurred_at",
    "DateReported": "reported_at", "IncidentType": "category", "Harm": "harm_level", "MedicationStage": "medication_stage",
}
CODES = ["MED", "PTID", "FALL", "PU", "DET", "OTH"]
HARMS = ["NONE", "LOW", "MODERATE", "SEVERE"]


def incident_rows(first: int, n: int, start: dt.datetime) -> list[dict]:
    rows = []
    for i in range(first, first + n):
        occurred = start + dt.timedelta(hours=11 * (i - first))
        cat = CODES[i % len(CODES)]
        rows.append({
            "IncidentRef": f"INC{i:05d}", "Site": "RF4", "Location": f"W{i % 9 + 1:02d}",
            "DateOccurred": occurred.strftime("%Y-%m-%d %H:%M:%S"),
            "DateReported": (occurred + dt.timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S"),
            "IncidentType": cat, "Harm": HARMS[i % len(HARMS)], "MedicationStage": "ADMIN" if cat == "MED" else "",
        })  # fmt: skip
    return rows


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)
    return path


class FilesSource(SourceFixture):
    connector = FilesConnector
    dataset = "patient_safety_incidents"
    mappings = INCIDENT_MAPPINGS

    def config(self, tmp_path: Path, **_) -> dict:
        write_csv(tmp_path / "drop" / "incidents_2024-03.csv", incident_rows(1, 12, dt.datetime(2024, 3, 1, 8)))
        return {"path": "drop/*.csv", "columns": dict(INCIDENT_COLUMNS)}

    def append(self, config, tmp_path: Path, **_) -> int:
        write_csv(tmp_path / "drop" / "incidents_2024-04.csv", incident_rows(100, 5, dt.datetime(2024, 4, 1, 8)))
        return 5

    def bad_config(self, config, tmp_path, **_):
        return {**config, "path": "nowhere/*.csv"}, ["no files match"]


# -- SQL databases ------------------------------------------------------------------------------
SQL_COLUMNS = {
    "ref": "incident_id", "site": "site_code", "ward": "ward_code", "occurred": "occurred_at",
    "reported": "reported_at", "kind": "category", "harm": "harm_level", "stage": "medication_stage",
}  # fmt: skip


def sql_rows(first: int, n: int) -> list[dict]:
    start = dt.datetime(2024, 3, 1, 8) + dt.timedelta(days=first)
    out = []
    for r in incident_rows(first, n, start):
        out.append({
            "ref": r["IncidentRef"], "site": r["Site"], "ward": r["Location"],
            "occurred": dt.datetime.fromisoformat(r["DateOccurred"]),
            "reported": dt.datetime.fromisoformat(r["DateReported"]),
            "kind": r["IncidentType"], "harm": r["Harm"], "stage": r["MedicationStage"] or None,
            "updated_at": dt.datetime.fromisoformat(r["DateReported"]) + dt.timedelta(minutes=first),
        })  # fmt: skip
    return out


def create_incidents(url: str, rows: list[dict], table: str = "incidents") -> None:
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    t = sa.Table(
        table, meta,
        sa.Column("ref", sa.String(20), primary_key=True), sa.Column("site", sa.String(8)),
        sa.Column("ward", sa.String(8)), sa.Column("occurred", sa.DateTime), sa.Column("reported", sa.DateTime),
        sa.Column("kind", sa.String(8)), sa.Column("harm", sa.String(12)), sa.Column("stage", sa.String(8)),
        sa.Column("updated_at", sa.DateTime),
    )  # fmt: skip
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), rows)
    engine.dispose()


def insert_incidents(url: str, rows: list[dict], table: str = "incidents") -> None:
    engine = sa.create_engine(url)
    t = sa.Table(table, sa.MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), rows)
    engine.dispose()


class SqlSource(SourceFixture):
    connector = SqlConnector
    dataset = "patient_safety_incidents"
    mappings = INCIDENT_MAPPINGS

    def __init__(self, database: str):
        self.requires = (database, "monkeypatch")
        self.database = database

    def _url(self, fixtures: dict) -> str:
        return fixtures[self.database]

    def config(self, tmp_path: Path, **fixtures) -> dict:
        url = self._url(fixtures)
        create_incidents(url, sql_rows(1, 20))
        cfg = {"url": url, "table": "incidents", "replication_key": "updated_at", "columns": dict(SQL_COLUMNS),
               "batch_size": 7}
        if self.database == "pg_url":
            # the test server trusts local connections, so any password is accepted: enough to
            # prove a configured password never surfaces
            fixtures["monkeypatch"].setenv("KIT_PG_PASSWORD", "kit-pg-password-5521")
            cfg["password"] = "env:KIT_PG_PASSWORD"
        return cfg

    def append(self, config, tmp_path, **fixtures) -> int:
        insert_incidents(self._url(fixtures), sql_rows(200, 4))
        return 4

    def bad_config(self, config, tmp_path, **fixtures):
        if self.database == "mariadb_url":
            url = sa.engine.make_url(config["url"]).set(password="wrong-password-4821")
            return {**config, "url": url.render_as_string(hide_password=False)}, ["refused the credentials"]
        return {**config, "table": "no_such_table"}, ["no_such_table"]


# -- HTTP APIs ------------------------------------------------------------------------------------
REST_KEY = "kit-secret-api-key-7f3a91"
REST_COLUMNS = {
    "ref": "incident_id", "site": "site_code", "location.ward": "ward_code", "occurred": "occurred_at",
    "reported": "reported_at", "type": "category", "harm": "harm_level", "stage": "medication_stage",
}  # fmt: skip


def incidents_api(records: list[dict], key: str | None = REST_KEY):
    """An incidents API: API key header, `updated_after` filter, offset/limit paging."""

    def handler(req) -> Reply:
        if key is not None and req.headers.get("X-API-Key") != key:
            return Reply(401, {"error": "invalid API key"})
        since = req.q("updated_after")
        rows = [r for r in records if since is None or r["updated_at"] > since]
        offset, limit = int(req.q("offset", "0")), int(req.q("limit", "100"))
        return Reply(200, {"data": rows[offset : offset + limit], "total": len(rows)})

    return handler


class RestSource(SourceFixture):
    connector = RestConnector
    dataset = "patient_safety_incidents"
    mappings = INCIDENT_MAPPINGS
    requires = ("fake_api", "monkeypatch")

    def config(self, tmp_path, fake_api, monkeypatch, **_) -> dict:
        monkeypatch.setenv("KIT_REST_API_KEY", REST_KEY)
        self.records = json.loads(recorded("rest/incidents.json"))
        fake_api.route("/api/v1/incidents", incidents_api(self.records))
        return {
            "url": f"{fake_api.base}/api/v1/incidents",
            "auth": {"type": "api_key", "header": "X-API-Key", "key": "env:KIT_REST_API_KEY"},
            "paginator": {"type": "offset", "limit": 10, "total_path": "total"},
            "records_path": "data",
            "replication_key": "updated_at",
            "since_param": "updated_after",
            "columns": dict(REST_COLUMNS),
        }

    def append(self, config, tmp_path, **_) -> int:
        for i in range(3):
            r = copy.deepcopy(self.records[-1])
            r["ref"] = f"INC-NEW-{i}"
            r["updated_at"] = f"2025-01-0{i + 1}T10:00:00"
            self.records.append(r)
        return 3

    def bad_config(self, config, tmp_path, **_):
        return {**config, "auth": {"type": "api_key", "key": "wrong-key-000000"}}, ["authentication failed", "401"]


FHIR_EXT = "https://fhir.example-trust.nhs.uk/StructureDefinition"
FHIR_FIELDS = {
    "ward_code": f"extension[url={FHIR_EXT}/ward].valueString",
    "critical_medicine": f"extension[url={FHIR_EXT}/critical-medicine].valueBoolean",
    "scheduled_at": f"extension[url={FHIR_EXT}/scheduled-time].valueDateTime",
}
FHIR_MAPPINGS = {"status": {"completed": "given", "not-done": "omitted"}}


def fhir_resources() -> list[dict]:
    out = []
    for n in (1, 2):
        bundle = json.loads(recorded(f"fhir/medication_administration_page{n}.json"))
        out += [e["resource"] for e in bundle["entry"]]
    return out


def fhir_search(resources: list[dict], resource_type: str, page_size_default: int = 5):
    """A FHIR server's search: _lastUpdated=gt..., _count, and Bundle next links by _page."""

    def handler(req) -> Reply:
        since = req.q("_lastUpdated")
        rows = resources
        if since:
            cut = dt.datetime.fromisoformat(since[2:].replace("Z", "+00:00"))
            rows = [r for r in rows if dt.datetime.fromisoformat(r["meta"]["lastUpdated"].replace("Z", "+00:00")) > cut]
        count = int(req.q("_count", str(page_size_default)))
        page = int(req.q("_page", "1"))
        chunk = rows[(page - 1) * count : page * count]
        links = [{"relation": "self", "url": f"{{base}}/fhir/{resource_type}?_page={page}"}]
        if page * count < len(rows):
            nxt = f"{{base}}/fhir/{resource_type}?_count={count}&_page={page + 1}" + (f"&_lastUpdated={since}" if since else "")
            links.append({"relation": "next", "url": nxt})
        return Reply(200, json.dumps({"resourceType": "Bundle", "type": "searchset", "total": len(rows), "link": links,
                                      "entry": [{"resource": r} for r in chunk]}), content_type="application/fhir+json")

    return handler


class FhirSource(SourceFixture):
    connector = FhirConnector
    dataset = "medication_administrations"
    mappings = FHIR_MAPPINGS
    requires = ("fake_api",)

    def config(self, tmp_path, fake_api, **_) -> dict:
        self.resources = fhir_resources()
        fake_api.route("/fhir/MedicationAdministration", fhir_search(self.resources, "MedicationAdministration"))
        return {"base_url": f"{fake_api.base}/fhir", "resource_type": "MedicationAdministration",
                "fields": dict(FHIR_FIELDS), "page_size": 5,
                "auth": {"type": "bearer", "token": "kit-fhir-bearer-token-9d2c"}}

    def append(self, config, tmp_path, **_) -> int:
        for i in range(2):
            r = copy.deepcopy(self.resources[0])
            r["id"] = f"ma-new-{i}"
            r["meta"]["lastUpdated"] = f"2025-02-0{i + 1}T09:00:00Z"
            self.resources.append(r)
        return 2

    def bad_config(self, config, tmp_path, **_):
        return {**config, "resource_type": "NoSuchResource"}, ["404"]


NHS_DIR = FIXTURES / "nhs_statistics"


def published_rows(month: str) -> int:
    import csv

    rows = list(csv.DictReader(open(Path(__file__).parents[2] / "data" / "nhs_england_ae_attendances_2016-04_2019-03.csv")))
    return sum(1 for r in rows if r["period"] == month)


class NhsStatisticsSource(SourceFixture):
    connector = NhsStatisticsConnector

    def config(self, tmp_path, **_) -> dict:
        (tmp_path / "ae").mkdir(exist_ok=True)
        shutil.copy(NHS_DIR / "ae_monthly_2019-02.csv", tmp_path / "ae")
        return {"path": "ae/*.csv"}

    def append(self, config, tmp_path, **_) -> int:
        shutil.copy(NHS_DIR / "ae_monthly_2019-03.csv", tmp_path / "ae")
        return published_rows("2019-03-01")

    def bad_config(self, config, tmp_path, **_):
        write_csv(tmp_path / "wrong" / "incidents.csv", incident_rows(1, 2, dt.datetime(2024, 1, 1)))
        return {"path": "wrong/*.csv"}, ["not the A&E monthly publication", "incidents.csv"]


def ods_routes(fake_api, codes=("RF4", "QMF", "Y56", "RJ1", "RRK", "Y60")) -> str:
    for code in codes:
        fake_api.route(f"/ORD/2-0-0/organisations/{code}", [Reply(200, recorded(f"ods/{code}.json"))])
    return f"{fake_api.base}/ORD/2-0-0"


class OdsSource(SourceFixture):
    connector = OdsConnector
    requires = ("fake_api",)

    def config(self, tmp_path, fake_api, **_) -> dict:
        return {"org_codes": ["RF4", "RJ1", "RRK"], "base_url": ods_routes(fake_api)}

    def bad_config(self, config, tmp_path, **_):
        return {**config, "org_codes": ["ZZZ99"], "skip_unknown": False}, ["ZZZ99"]
