"""Connectors inside the real pipeline: a secret never surfaces; state commits with the load.

The secret test runs a real ingest through the Prefect flow `ingest-site` of a site whose
`rest` sources carry an API key given as env:VAR (one of them against an endpoint that echoes
the key back in its error), then scans everything a person or a tool could read afterwards:
captured log records and console output, the flow run's logs and artifacts in Prefect, the
exception messages (outcome reasons), and every table of the `meta` schema.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from connectors.state import read_state
from pipeline.ingest.source import ingest_source
from pipeline.runtime import get_sites, prepare_warehouse, validator, warehouse
from pipeline.config.settings import load_settings
from tests.connectors.fake_api import Reply, recorded
from tests.connectors.sources import INCIDENT_MAPPINGS, REST_COLUMNS, SQL_COLUMNS, create_incidents, incidents_api, insert_incidents, sql_rows

SECRET = "flow-secret-key-8c1e77a0d2"
WARDS = [f"W{i:02d}" for i in range(1, 13)]


def write_site(sites: Path, sources: list[dict]) -> Path:
    sites.mkdir(parents=True, exist_ok=True)
    config = {
        # The fixture rows carry site RF4: a site of another code would quarantine them (site_code_is_<ODS>).
        "ods_code": "RF4", "name": "Test Trust", "trust_type": "acute", "region": "London", "sources": sources,
        "mappings": {"patient_safety_incidents": {**INCIDENT_MAPPINGS, "ward_code": WARDS}},
    }  # fmt: skip
    (sites / "RF4.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return sites


def rest_source(name: str, url: str) -> dict:
    return {
        "name": name, "connector": "rest", "dataset": "patient_safety_incidents",
        "options": {"url": url, "auth": {"type": "api_key", "key": "env:ZZ1_INCIDENTS_API_KEY"},
                    "records_path": "data", "paginator": {"type": "offset", "limit": 10}, "columns": REST_COLUMNS,
                    "replication_key": "updated_at", "backoff_seconds": 0.01},
    }  # fmt: skip


@pytest.mark.slow
def test_a_secret_never_reaches_logs_artifacts_errors_or_meta(prefect_server, home, tmp_path, fake_api, monkeypatch,
                                                                caplog, capsys):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId,
    )  # fmt: skip
    from prefect.logging.handlers import APILogWorker

    from flows.ingest_site import ingest_site

    monkeypatch.setenv("ZZ1_INCIDENTS_API_KEY", SECRET)
    records = json.loads(recorded("rest/incidents.json"))
    fake_api.route("/api/v1/incidents", incidents_api(records, key=SECRET))
    # an API that repeats the credential it was sent in its error message (they exist)
    fake_api.route("/api/v1/echo", lambda req: Reply(400, {"error": f"key {req.headers.get('X-API-Key')} lacks scope"}))
    sites = write_site(tmp_path / "sites", [
        rest_source("incidents", f"{fake_api.base}/api/v1/incidents"),
        rest_source("incidents_echo", f"{fake_api.base}/api/v1/echo"),
    ])  # fmt: skip
    caplog.set_level(logging.DEBUG)

    state = ingest_site(site="RF4", sites_dir=str(sites), return_state=True)
    outcomes = {o["source_name"]: o for o in state.result(raise_on_failure=False)}
    flow_run_id = state.state_details.flow_run_id
    assert outcomes["incidents"]["status"] == "loaded" and outcomes["incidents"]["rows_loaded"] == 25
    echo = outcomes["incidents_echo"]
    assert echo["status"] == "held" and "HTTP 400" in echo["reason"] and "***" in echo["reason"]  # it was redacted
    assert any(h.headers.get("X-API-Key") == SECRET for h in fake_api.hits("/api/v1/echo"))  # the key was really sent

    texts: dict[str, str] = {}
    APILogWorker.drain_all(timeout=10)  # the flow's logs reach the API before they are read
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        flow_run = client.read_flow_run(flow_run_id)
    assert logs and artifacts
    texts["prefect logs"] = "\n".join(log.message for log in logs)
    texts["prefect artifacts"] = "\n".join(f"{a.key} {a.description} {a.data}" for a in artifacts)
    texts["flow run"] = flow_run.model_dump_json()
    texts["log records"] = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    captured = capsys.readouterr()
    texts["console"] = captured.out + captured.err
    texts["exception messages"] = json.dumps(list(outcomes.values()), default=str)
    wh = warehouse()
    for table in wh.tables("meta"):
        texts[f"meta.{table}"] = wh.query(f"select * from meta.{table}").to_csv()
    assert "HTTP 400" in texts["meta.load_batch"]  # the scan reads what was recorded
    leaks = [where for where, text in texts.items() if SECRET in text]
    assert not leaks, f"the secret appeared in: {leaks}"


def test_sql_source_state_commits_with_the_load(home, tmp_path, pg_url):
    create_incidents(pg_url, sql_rows(1, 12))
    sites = write_site(tmp_path / "sites", [{
        "name": "datix", "connector": "sql", "dataset": "patient_safety_incidents",
        "options": {"url": pg_url, "table": "incidents", "replication_key": "updated_at", "columns": SQL_COLUMNS,
                    "batch_size": 5},
    }])  # fmt: skip
    settings = load_settings()
    [site] = get_sites(sites)
    wh = warehouse(settings)
    prepare_warehouse(wh, [site])
    source = site.sources[0]

    def ingest():
        return ingest_source(wh, site, source, settings=settings, validator=validator(wh))

    first = ingest()
    assert first.status == "loaded" and first.rows_loaded == 12, first.reason
    state = read_state(wh, "RF4", "datix")
    assert state["replication_key"] == "updated_at"
    assert ingest().status == "up_to_date"
    insert_incidents(pg_url, sql_rows(300, 3))
    second = ingest()
    assert second.status == "loaded" and second.rows_in == 3 and second.batch_id != first.batch_id
    assert read_state(wh, "RF4", "datix")["replication_key_value"] > state["replication_key_value"]
    # the extract's scratch files are gone once the batch is loaded
    assert not list((settings.landing_dir / "RF4" / "datix").rglob("spool-*"))
