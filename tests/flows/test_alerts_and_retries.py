"""Failure handling: alerts to a webhook (a local HTTP server), retries on I/O only."""

from __future__ import annotations

import json
import shutil

import pytest
import sqlalchemy as sa
import yaml

from pipeline.alerts import Alert, alerts_for_outcomes, scrub, send_alerts
from tests.flows.conftest import TINY, TINY_SPEC, Webhook
from tests.flows.sites import break_header, derived_site


def test_reasons_are_scrubbed_before_they_leave():
    reason = (
        "RF4/epma: could not connect to postgresql://etl:hunter2@db.trust.nhs.uk/epr (password=hunter2); "
        "Original Line: RF4-MA-1,RF4,9434765919,AMU,322236009,Y"
    )
    out = scrub(reason)
    assert "hunter2" not in out and "9434765919" not in out and "322236009" not in out
    assert "postgresql://***@db.trust.nhs.uk/epr" in out and "Original Line: (omitted)" in out
    assert len(scrub("x" * 5000)) == 400


def test_alert_payload_and_delivery_with_retries():
    hook = Webhook(fail_first=2)
    try:
        alert = Alert(kind="batch_held", site="RF4", source="epma", dataset="medication_administrations",
                      batch_id="abc123", reason="3 of 10 rows (30.00%) fail: dose_unit in the allowed set")  # fmt: skip
        assert send_alerts([alert], hook.url, attempts=3, backoff_seconds=0) == 1
        assert hook.attempts == 3  # two 503s, then delivered
        body = hook.received[0]
        assert {k: body[k] for k in ("kind", "site", "source", "dataset", "batch_id")} == {
            "kind": "batch_held", "site": "RF4", "source": "epma",
            "dataset": "medication_administrations", "batch_id": "abc123",
        }  # fmt: skip
        assert body["text"].startswith("[benefits] RF4/epma (medication_administrations): batch held batch abc123")
        # A webhook that stays down costs the run nothing but a logged error.
        down = Webhook(fail_first=99)
        try:
            assert send_alerts([alert], down.url, attempts=2, backoff_seconds=0) == 0
        finally:
            down.close()
    finally:
        hook.close()
    with pytest.raises(ValueError, match="unknown alert kind"):
        Alert(kind="oops", site="RF4")
    assert [a.kind for a in alerts_for_outcomes([
        {"site_code": "RF4", "source_name": "a", "dataset": "d", "status": "loaded"},
        {"site_code": "RF4", "source_name": "b", "dataset": "d", "status": "held", "batch_id": "x", "reason": "r"},
        {"site_code": "RF4", "source_name": "c", "dataset": "d", "status": "failed", "reason": "r"},
    ])] == ["batch_held", "source_failed"]  # fmt: skip


SITE = "TA1"


def one_source_site(tmp_path, tiny_root, source: str, connector: str | None = None):
    """A small site with one source, on a private copy of that source's extracts."""
    template, seed = TINY[SITE]
    path = derived_site(template, SITE, tiny_root, tmp_path / "sites", seed=seed, simulate=False, **TINY_SPEC)
    cfg = yaml.safe_load(path.read_text())
    cfg["sources"] = [s for s in cfg["sources"] if s["name"] == source]
    src = cfg["sources"][0]
    folder = tmp_path / "extracts" / src["dataset"]
    shutil.copytree(tiny_root / SITE / src["dataset"], folder)
    src["options"]["path"] = str(folder / "*.csv")
    if connector:
        src["connector"] = connector
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path.parent, folder


@pytest.mark.postgres
def test_held_batch_alerts_the_webhook_without_secrets(prefect_server, home, tmp_path, tiny_root, pg_url, monkeypatch, webhook):
    from flows.ingest_site import ingest_site
    from pipeline import runtime

    sites, folder = one_source_site(tmp_path, tiny_root, "incidents")
    break_header(sorted(folder.glob("*.csv"))[-1])
    # Trust auth ignores the password, so it can stand in for a real secret in the URL.
    url = sa.engine.make_url(pg_url).set(password="s3cr3t-pw").render_as_string(hide_password=False)
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", url)
    monkeypatch.setenv("BENEFITS_ALERT_WEBHOOK_URL", webhook.url)
    runtime.reset()
    outcomes = ingest_site(site=SITE, sites_dir=str(sites))
    assert [o["status"] for o in outcomes] == ["held"]
    assert len(webhook.received) == 1
    alert = webhook.received[0]
    assert (alert["kind"], alert["site"], alert["source"], alert["dataset"]) == (
        "batch_held", SITE, "incidents", "patient_safety_incidents",
    )  # fmt: skip
    assert alert["batch_id"] == outcomes[0]["batch_id"] and alert["flow_run_id"]
    assert "patient_safety_incidents_2018-09.csv" in alert["reason"]
    text = json.dumps(webhook.received)
    assert "s3cr3t" not in text and webhook.url not in text and f"{SITE}-P" not in text


@pytest.mark.postgres
def test_transient_source_errors_are_retried_and_bugs_are_not(prefect_server, home, tmp_path, tiny_root, pg_url, monkeypatch):
    from flows import ingest_site as module
    from pipeline import runtime

    monkeypatch.setattr(module.ingest_source_task, "retry_delay_seconds", [0, 0])
    sites, _ = one_source_site(tmp_path, tiny_root, "incidents", connector="tests.flows.flaky:FlakyFiles")
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", pg_url)
    runtime.reset()

    counter = tmp_path / "calls"
    monkeypatch.setenv("BENEFITS_TEST_FLAKY", f"{counter}:1")
    [outcome] = module.ingest_site(site=SITE, sites_dir=str(sites))
    assert outcome["status"] == "loaded" and outcome["rows_loaded"] > 0
    assert counter.read_text() == "2"  # failed once, retried once

    counter.unlink()
    monkeypatch.setenv("BENEFITS_TEST_FLAKY", f"{counter}:5")
    [outcome] = module.ingest_site(site=SITE, sites_dir=str(sites))
    assert outcome["status"] == "failed" and "connection refused" in outcome["reason"]
    assert counter.read_text() == str(1 + module.ingest_source_task.retries)

    counter.unlink()
    monkeypatch.setenv("BENEFITS_TEST_FLAKY", f"{counter}:bug")
    [outcome] = module.ingest_site(site=SITE, sites_dir=str(sites))
    assert outcome["status"] == "held" and "KeyError" in outcome["reason"]
    assert counter.read_text() == "1"  # not retried
