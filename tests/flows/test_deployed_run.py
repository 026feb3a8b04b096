"""The pipeline deployed for real: a Prefect server on a loopback port, the process work pool,
two workers, `prefect deploy` from deploy/prefect.yaml, and `national-run` over four simulated
sites (one broken) into a PostgreSQL warehouse.

The deployed run must give the same warehouse as an in-process run on the same data, report
the broken site (and alert on it) while the other three complete, and a second trigger must
change nothing.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from tests.flows.conftest import BROKEN
from tests.flows.stack import Stack
from tests.support.warehouse import mart_schemas, schema_tables, table_checksum

SECRET_BLOCK = "benefits-alert-webhook"
# Columns that record when or by which run something happened, not what was loaded (the data
# quality marts show when each batch was loaded).
RUN_COLUMNS = ("extracted_at", "loaded_at", "validated_at", "updated_at", "flow_run_id", "recorded_at", "published_at")


def warehouse_state(url: str) -> dict[str, str]:
    """Checksums of every mart table and every loaded (staging, quarantine) and meta table."""
    engine = sa.create_engine(url)
    try:
        state = {f"mart:{t}": table_checksum(engine, t, exclude=RUN_COLUMNS) for t in schema_tables(engine, mart_schemas(engine))}
        for t in schema_tables(engine, ["staging", "quarantine", "meta"]):
            if t.split(".")[1].startswith("stg_") or t == "meta.pipeline_run":
                continue
            state[t] = table_checksum(engine, t, exclude=RUN_COLUMNS)
        with engine.connect() as c:
            for t in schema_tables(engine, ["staging"]):
                state[f"rows:{t}"] = str(c.execute(sa.text(f"select count(*) from {t}")).scalar())
        return state
    finally:
        engine.dispose()


def child_runs(parent_id):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_id]))
        )


def trigger(sites_dir, mode: str, **more) -> tuple[object, dict]:
    from prefect.deployments import run_deployment

    run = run_deployment(
        "national-run/national-monthly",
        parameters={"sites_dir": str(sites_dir), "mode": mode, "max_concurrent_sites": 4, "poll_seconds": 1, **more},
        timeout=420,
        poll_interval=1,
    )
    assert run.state.is_completed(), f"national run ended {run.state.type}: {run.state.message}"
    return run, run.state.result()


@pytest.mark.slow
@pytest.mark.postgres
def test_national_run_on_server_with_two_workers(tmp_path, four_sites, pg_databases, webhook, monkeypatch):
    deployed_url, inprocess_url = pg_databases("benefits_deploy"), pg_databases("benefits_inproc")
    # The Prefect server's own database is PostgreSQL too, as in production: on SQLite, runs
    # starting together stall on its single write lock (measured: about a minute per national run).
    server_db = sa.engine.make_url(pg_databases("prefect_server")).set(drivername="postgresql+asyncpg")
    codes = sorted(p.stem for p in four_sites.glob("*.yaml"))
    assert len(codes) == 4 and BROKEN in codes

    t0 = time.monotonic()

    def lap(what: str) -> None:
        print(f"[{time.monotonic() - t0:5.1f} s] {what}", flush=True)

    with Stack(tmp_path / "stack", server_db_url=server_db.render_as_string(hide_password=False)) as stack:
        try:
            stack.start_server()
            lap("server up")
            stack.start_deploy()  # pool + `prefect deploy`, while the reference run below works

            # The reference: the same data through an in-process national run, on the same server.
            from flows.national_run import national_run
            from pipeline import runtime

            monkeypatch.setenv("BENEFITS_HOME", str(tmp_path / "home-inprocess"))
            monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", inprocess_url)
            runtime.reset()
            with stack.settings():
                local = national_run(sites_dir=str(four_sites), mode="in-process", publish=False)
            runtime.reset()
            monkeypatch.delenv("BENEFITS_WAREHOUSE_URL")
            lap("in-process run")
            assert local["mode"] == "in-process" and set(local["failed_sites"]) == {BROKEN}
            inprocess = warehouse_state(inprocess_url)

            out = stack.finish_deploy()
            for name in ("site-daily", "marts-daily", "benefits-monthly", "national-monthly"):
                assert f"'{name}'" in out or f"{name}" in out
            with stack.settings():
                from prefect.blocks.system import Secret

                Secret(value=webhook.url).save(SECRET_BLOCK)
            env = {
                "BENEFITS_HOME": str(tmp_path / "home"),
                "BENEFITS_WAREHOUSE_URL": deployed_url,
                "BENEFITS_ALERT_WEBHOOK_BLOCK": SECRET_BLOCK,
                # Test only: keep the national run's return value so this process can read it.
                "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
            }
            # Three runs each: the worker that takes the national run has room for two sites
            # only, so with four sites submitted at once the other worker must take some.
            stack.start_worker("worker-a", env=env, limit=3)
            stack.start_worker("worker-b", env=env, limit=3)
            stack.wait_for_workers(["worker-a", "worker-b"])
            lap("deployed, workers online")

            with stack.settings():
                run, result = trigger(four_sites, "deployments")
                kids = child_runs(run.id)
            lap("first national run")

            # Every site ran as its own deployment run, and every one completed.
            assert result["mode"] == "deployments"
            assert sorted(k.parameters["site"] for k in kids) == codes
            assert all(k.state.is_completed() for k in kids), [(k.name, k.state.type) for k in kids]
            workers = {k.labels.get("prefect.worker.name") for k in kids} | {run.labels.get("prefect.worker.name")}
            assert workers == {"worker-a", "worker-b"}
            assert {r["worker"] for r in result["site_runs"].values()} <= {"worker-a", "worker-b"}

            # The broken site is reported, and alerted from the worker that ran it; the other
            # three are complete.
            assert set(result["failed_sites"]) == {BROKEN}
            assert "epma: held" in result["failed_sites"][BROKEN]
            by_site: dict[str, set] = {}
            for o in result["outcomes"]:
                by_site.setdefault(o["site_code"], set()).add(o["status"])
            assert by_site[BROKEN] == {"held", "loaded"}
            assert all(by_site[c] == {"loaded"} for c in codes if c != BROKEN)
            held = [a for a in webhook.received if a["kind"] == "batch_held"]
            assert [(a["site"], a["source"], a["dataset"]) for a in held] == [
                (BROKEN, "epma", "medication_administrations")
            ]
            assert held[0]["batch_id"] and "csv" in held[0]["reason"].lower()
            assert "postgres" not in str(webhook.received)  # nothing of the warehouse URL

            # The per-site reports are on the server.
            with stack.settings():
                from prefect import get_client

                with get_client(sync_client=True) as client:
                    keys = {a.key for a in client.read_latest_artifacts()}
            assert {f"site-{c.lower()}" for c in codes} <= keys and "national-run-summary" in keys

            # The deployed run's warehouse equals the in-process one: every mart table, every
            # staging, quarantine and meta table (bar run timestamps), staging row counts.
            deployed = warehouse_state(deployed_url)
            assert any(k.startswith("mart:national.") for k in deployed)
            assert int(deployed["rows:staging.medication_administrations"]) > 0
            assert deployed == inprocess

            # A second trigger changes nothing. (`auto` finds the workers by itself.) Its sites go
            # two to a run: two `ingest-sites` runs, each site still its own reported run.
            with stack.settings():
                run2, again = trigger(four_sites, "auto", sites_per_run=2)
                batches = child_runs(run2.id)
                members = [k for b in batches for k in child_runs(b.id)]
            lap("second national run")
            assert again["mode"] == "deployments"
            assert sorted(len(b.parameters["sites"]) for b in batches) == [2, 2]
            assert sorted(k.parameters["site"] for k in members) == codes
            assert set(again["site_runs"]) == set(codes)
            assert {c: r["status"] for c, r in again["site_runs"].items()} == {c: "completed" for c in codes}
            assert {r["flow_run_id"] for r in again["site_runs"].values()} == {str(k.id) for k in members}
            statuses = {(o["site_code"], o["source_name"]): o["status"] for o in again["outcomes"]}
            assert statuses.pop((BROKEN, "epma")) == "held"
            assert set(statuses.values()) == {"up_to_date"}
            assert warehouse_state(deployed_url) == deployed
        except BaseException:
            for name in ("server", "deploy", "worker-worker-a", "worker-worker-b"):
                print(f"--- {name}.log (tail)\n{stack.log(name)[-4000:]}")
            raise
