"""The `rest` connector against a local HTTP server: paginators, auth, and every way an API fails."""

from __future__ import annotations

import base64
import json
import time

import pytest

from connectors.base import ConnectorError, TransientError
from connectors.runner import run_connector
from tests.connectors.fake_api import Reply, free_port, recorded
from tests.connectors.sources import INCIDENT_MAPPINGS, REST_COLUMNS

DS = "patient_safety_incidents"
RECORDS = json.loads(recorded("rest/incidents.json"))


def run(config, **kw):
    cfg = {"records_path": "data", "columns": dict(REST_COLUMNS), "backoff_seconds": 0.01, **config}
    return run_connector("rest", cfg, dataset=DS, mappings=INCIDENT_MAPPINGS, collect=True, **kw)


def ids(result) -> list[str]:
    return result.table.column("incident_id").to_pylist()


def test_next_link_in_the_body_follows_recorded_pages(fake_api):
    pages = {None: "rest/incidents_page1.json", "p2": "rest/incidents_page2.json", "p3": "rest/incidents_page3.json"}
    fake_api.route("/api/v1/incidents", lambda req: Reply(200, recorded(pages[req.q("cursor")])))
    result = run({"url": f"{fake_api.base}/api/v1/incidents", "paginator": {"type": "next_link", "path": "links.next"}})
    assert ids(result) == [r["ref"] for r in RECORDS] and result.conform_errors == 0
    assert len(fake_api.hits("/api/v1/incidents")) == 3


def test_offset_pagination(fake_api):
    def handler(req):
        o, n = int(req.q("offset")), int(req.q("limit"))
        return Reply(200, {"data": RECORDS[o : o + n]})

    fake_api.route("/inc", handler)
    result = run({"url": f"{fake_api.base}/inc", "paginator": {"type": "offset", "limit": 10}})
    assert ids(result) == [r["ref"] for r in RECORDS]
    assert [r.q("offset") for r in fake_api.hits("/inc")] == ["0", "10", "20"]


def test_page_number_pagination(fake_api):
    def handler(req):
        p, n = int(req.q("page")), int(req.q("per_page"))
        return Reply(200, {"results": {"items": RECORDS[(p - 1) * n : p * n]}, "pages": 3})

    fake_api.route("/inc", handler)
    result = run({"url": f"{fake_api.base}/inc", "records_path": "results.items",
                  "paginator": {"type": "page_number", "size_param": "per_page", "size": 10, "total_pages_path": "pages"}})
    assert len(ids(result)) == 25 and len(fake_api.hits("/inc")) == 3


def test_page_number_without_a_page_count_stops_at_a_short_page(fake_api):
    def handler(req):
        p, n = int(req.q("page")), int(req.q("page_size"))
        return Reply(200, {"data": RECORDS[p * n : (p + 1) * n]})

    fake_api.route("/inc", handler)
    result = run({"url": f"{fake_api.base}/inc", "paginator": {"type": "page_number", "start": 0, "size": 10}})
    assert ids(result) == [r["ref"] for r in RECORDS]
    assert [r.q("page") for r in fake_api.hits("/inc")] == ["0", "1", "2"]


def test_offset_stops_at_the_total_without_asking_for_an_empty_page(fake_api):
    def handler(req):
        o, n = int(req.q("offset")), int(req.q("limit"))
        return Reply(200, {"data": RECORDS[o : min(o + n, 20)], "total": 20})

    fake_api.route("/inc", handler)
    result = run({"url": f"{fake_api.base}/inc", "paginator": {"type": "offset", "limit": 10, "total_path": "total"}})
    assert ids(result) == [r["ref"] for r in RECORDS[:20]]
    assert [r.q("offset") for r in fake_api.hits("/inc")] == ["0", "10"]


def test_link_header_pagination(fake_api):
    def handler(req):
        p = int(req.q("page", "1"))
        headers = {"Link": f'<{{base}}/inc?page={p + 1}>; rel="next", <{{base}}/inc?page=1>; rel="first"'} if p < 3 else {}
        return Reply(200, RECORDS[(p - 1) * 10 : p * 10], headers=headers)

    fake_api.route("/inc", handler)
    result = run({"url": f"{fake_api.base}/inc", "records_path": "", "paginator": {"type": "link_header"}})
    assert ids(result) == [r["ref"] for r in RECORDS]


def test_bearer_token_auth(fake_api, monkeypatch):
    monkeypatch.setenv("EPR_TOKEN", "tok-123456789")
    fake_api.route("/inc", lambda req: Reply(200, {"data": RECORDS[:3]})
                   if req.headers.get("Authorization") == "Bearer tok-123456789" else Reply(401, {}))
    assert len(ids(run({"url": f"{fake_api.base}/inc", "auth": {"type": "bearer", "token": "env:EPR_TOKEN"}}))) == 3


def test_oauth2_client_credentials(fake_api, monkeypatch):
    monkeypatch.setenv("OAUTH_SECRET", "client-secret-xyz")

    def token(req):
        basic = base64.b64encode(b"benefits:client-secret-xyz").decode()
        if req.headers.get("Authorization") != f"Basic {basic}" or b"grant_type=client_credentials" not in req.body:
            return Reply(401, {"error": "invalid_client"})
        return Reply(200, {"access_token": "access-abc-987", "token_type": "Bearer", "expires_in": 3600})

    fake_api.route("/oauth/token", token)
    fake_api.route("/inc", lambda req: Reply(200, {"data": RECORDS[:4]})
                   if req.headers.get("Authorization") == "Bearer access-abc-987" else Reply(401, {}))
    auth = {"type": "oauth2_client_credentials", "token_url": f"{fake_api.base}/oauth/token",
            "client_id": "benefits", "client_secret": "env:OAUTH_SECRET", "scope": "incidents.read"}
    assert len(ids(run({"url": f"{fake_api.base}/inc", "auth": auth}))) == 4
    monkeypatch.setenv("OAUTH_SECRET", "wrong")
    with pytest.raises(ConnectorError, match="refused the client credentials"):
        run({"url": f"{fake_api.base}/inc", "auth": auth})


def test_incremental_sends_the_watermark(fake_api):
    fake_api.route("/inc", lambda req: Reply(200, {"data": [r for r in RECORDS if r["updated_at"] > (req.q("since") or "")]}))
    cfg = {"url": f"{fake_api.base}/inc", "replication_key": "updated_at", "since_param": "since"}
    first = run(cfg)
    assert first.rows == 25 and first.new_state["replication_key_value"] == RECORDS[-1]["updated_at"]
    assert run(cfg, state=first.new_state).rows == 0
    assert fake_api.hits("/inc")[-1].q("since") == RECORDS[-1]["updated_at"]


# -- bad input, each on its own -----------------------------------------------------------------
def test_http_500_then_success_is_retried(fake_api):
    fake_api.route("/inc", [Reply(500, "boom"), Reply(503, "busy"), Reply(200, {"data": RECORDS[:2]})])
    result = run({"url": f"{fake_api.base}/inc"})
    assert result.rows == 2 and result.connector.retries_done == 2


def test_429_honours_retry_after(fake_api):
    fake_api.route("/inc", [Reply(429, {}, headers={"Retry-After": "1"}), Reply(200, {"data": RECORDS[:2]})])
    t0 = time.monotonic()
    result = run({"url": f"{fake_api.base}/inc", "backoff_seconds": 0.0})
    assert result.rows == 2 and time.monotonic() - t0 >= 1.0


def test_401_is_a_clear_auth_error_and_not_retried(fake_api):
    fake_api.route("/inc", lambda req: Reply(401, {"error": "bad key"}))
    with pytest.raises(ConnectorError) as e:
        run({"url": f"{fake_api.base}/inc", "auth": {"type": "api_key", "key": "wrong-key-1234"}})
    msg = str(e.value)
    assert not e.value.transient and "HTTP 401: authentication failed" in msg and "X-API-Key" in msg
    assert "rest:extract" in msg and f"{fake_api.base}/inc" in msg and "wrong-key-1234" not in msg
    assert len(fake_api.hits("/inc")) == 1


def test_malformed_json(fake_api):
    fake_api.route("/inc", lambda req: Reply(200, '{"data": [{"ref": "INC-1",'))
    with pytest.raises(ConnectorError, match=r"rest:extract: .*/inc: the response is not valid JSON"):
        run({"url": f"{fake_api.base}/inc"})


def test_pagination_loop_next_link_pointing_back(fake_api):
    fake_api.route("/inc", lambda req: Reply(200, {"data": RECORDS[:2], "next": "{base}/inc?page=2"} if req.q("page") is None
                                             else {"data": RECORDS[2:4], "next": "{base}/inc"}))
    with pytest.raises(ConnectorError, match="pagination loop: the next link of .* points back to"):
        run({"url": f"{fake_api.base}/inc", "paginator": {"type": "next_link"}})


def test_offset_ignored_by_the_server_is_a_loop(fake_api):
    fake_api.route("/inc", lambda req: Reply(200, {"data": RECORDS[:10]}))
    with pytest.raises(ConnectorError, match="pagination loop: .* returned the same page"):
        run({"url": f"{fake_api.base}/inc", "paginator": {"type": "offset", "limit": 10}})


def test_connection_refused_is_transient(fake_api):
    url = f"http://127.0.0.1:{free_port()}/inc"
    with pytest.raises(TransientError) as e:
        run({"url": url, "retries": 2})
    assert "connection refused" in str(e.value) and url in str(e.value) and e.value.connector.retries_done == 2


def test_timeout_is_transient(fake_api):
    fake_api.route("/slow", lambda req: Reply(200, {"data": []}, delay=1.5))
    with pytest.raises(TransientError, match="timed out"):
        run({"url": f"{fake_api.base}/slow", "timeout_seconds": 0.3, "retries": 1})
