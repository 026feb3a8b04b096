"""deploy/: prefect.yaml's deployments and schedules, the Kubernetes job template, the Dockerfile.

No server needed: schedules are expanded with Prefect's own schedule classes, so the times
checked here are the ones the server's scheduler will produce.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import yaml

from pipeline.config.schedules import generate
from pipeline.config.settings import PROJECT_ROOT
from pipeline.config.sites import ConfigError, load_sites

DEPLOY = PROJECT_ROOT / "deploy"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load((DEPLOY / "prefect.yaml").read_text())


def deployment(spec: dict, name: str) -> dict:
    return next(d for d in spec["deployments"] if d["name"] == name)


def next_runs(schedule: dict, n: int, start: dt.datetime) -> list[dt.datetime]:
    from prefect.server.schemas.schedules import CronSchedule, RRuleSchedule

    if "cron" in schedule:
        s = CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
    else:
        s = RRuleSchedule(rrule=schedule["rrule"], timezone=schedule["timezone"])
    return [d.astimezone(LONDON) for d in asyncio.run(s.get_dates(n, start=start))]


def test_deployments_point_at_the_flows(spec):
    import importlib

    names = {
        "site-daily": "ingest-site",
        "site-batch": "ingest-sites",
        "marts-daily": "build-marts",
        "benefits-monthly": "realise-benefits",
        "national-monthly": "national-run",
        "collect-daily": "collect-packages",
        "submit-monthly": "submit-site",
    }
    assert {d["name"] for d in spec["deployments"]} == set(names)
    for d in spec["deployments"]:
        path, func = d["entrypoint"].split(":")
        assert (PROJECT_ROOT / path).exists()
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, func).name == names[d["name"]]
        assert d["work_pool"]["name"] == "benefits-process"
    # Flow code runs from the checkout the worker names, resolved when the run starts.
    [step] = spec["pull"]
    assert step["prefect.deployments.steps.set_working_directory"]["directory"] == "{{ $BENEFITS_REPO }}"
    # Nothing secret: Prefect stores these settings on the server, readable by every API user.
    settings = "\n".join(ln for ln in (DEPLOY / "prefect.yaml").read_text().splitlines() if not ln.lstrip().startswith("#"))
    assert "://" not in settings and "WAREHOUSE_URL" not in settings and "WEBHOOK" not in settings


def test_the_collector_runs_daily_one_at_a_time(spec):
    d = deployment(spec, "collect-daily")
    assert d["concurrency_limit"] == 1 and d["parameters"] == {"deadline_day": 15}
    [schedule] = d["schedules"]
    runs = next_runs(schedule, 3, dt.datetime(2026, 3, 28, tzinfo=dt.timezone.utc))  # across the change to BST
    assert [(r.hour, r.minute) for r in runs] == [(5, 30)] * 3 and len({r.date() for r in runs}) == 3


def test_local_reporting_is_daily_and_every_site_extracts_before_marts(spec):
    start = dt.datetime(2026, 3, 27, tzinfo=dt.timezone.utc)  # across the change to BST (29 March)
    [marts] = deployment(spec, "marts-daily")["schedules"]
    runs = next_runs(marts, 5, start)
    assert all((r.hour, r.minute) == (2, 0) for r in runs) and len({r.date() for r in runs}) == 5
    sites = deployment(spec, "site-daily")["schedules"]
    assert sorted(s["parameters"]["site"] for s in sites) == sorted(s.ods_code for s in load_sites(DEPLOY / "sites"))
    for s in sites:
        assert s["timezone"] == "Europe/London" and s["active"] is True
        first = next_runs(s, 1, start)[0]
        assert dt.time(0, 0) < first.time() < dt.time(2, 0)


def test_a_new_site_is_one_file_its_schedules_are_written_from_it(tmp_path):
    sites = tmp_path / "sites"
    sites.mkdir()
    for f in (DEPLOY / "sites").glob("*.yaml"):
        (sites / f.name).write_text(f.read_text())
    rv5 = (DEPLOY / "sites" / "RV5.yaml").read_text()
    (sites / "RAA.yaml").write_text(rv5.replace("RV5", "RAA").replace("\nrole: trust\n", "\nrole: trust\nextract_at: '00:45'\n"))
    (sites / "RZZ.yaml").write_text(rv5.replace("RV5", "RZZ").replace("role: trust", "role: publisher"))
    (sites / "RQQ.yaml").write_text(rv5.replace("RV5", "RQQ").replace("\nrole: trust\n", "\nrole: trust\nwork_queue: site-rqq\n"))
    spec = yaml.safe_load(generate(DEPLOY / "prefect.yaml", sites))
    daily = {s["parameters"]["site"]: s for s in deployment(spec, "site-daily")["schedules"]}
    assert daily["RAA"]["cron"] == "45 0 * * *"  # its own time
    # the others at a time their code picks, so the new sites moved none of the five
    assert (daily["RF4"]["cron"], daily["RZZ"]["cron"], daily["X24"]["cron"]) == ("10 1 * * *", "20 1 * * *", "40 1 * * *")
    assert all(s["timezone"] == "Europe/London" and s["active"] is True for s in daily.values())
    submit = [s["parameters"]["site"] for s in deployment(spec, "submit-monthly")["schedules"]]
    assert "RAA" in submit and "RZZ" not in submit and "X24" not in submit  # publishers send no return
    assert all(s["rrule"].startswith("FREQ=MONTHLY") for s in deployment(spec, "submit-monthly")["schedules"])
    own = deployment(spec, "site-daily-rqq")  # a worker at the trust: a deployment on its queue
    assert own["work_pool"] == {**deployment(spec, "site-daily")["work_pool"], "work_queue_name": "site-rqq"}
    assert own["entrypoint"] == deployment(spec, "site-daily")["entrypoint"] and "RQQ" not in daily
    assert [s["parameters"] for s in own["schedules"]] == [{"site": "RQQ"}] and "RQQ" in submit
    unmarked = tmp_path / "prefect.yaml"
    unmarked.write_text((DEPLOY / "prefect.yaml").read_text().replace("# >>> submit-monthly schedules", "# submit"))
    with pytest.raises(ConfigError, match="no .# >>> submit-monthly. block"):
        generate(unmarked, sites)


def test_national_reporting_is_the_fifth_working_day(spec):
    [national] = deployment(spec, "national-monthly")["schedules"]
    runs = next_runs(national, 12, dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    assert len(runs) == 12 and len({(r.year, r.month) for r in runs}) == 12
    for r in runs:
        assert (r.hour, r.minute) == (3, 0)  # London time, GMT and BST alike
        assert r.weekday() < 5
        weekdays_before = sum(dt.date(r.year, r.month, d).weekday() < 5 for d in range(1, r.day))
        assert weekdays_before == 4
    assert runs[0].date() == dt.date(2026, 1, 7) and runs[3].date() == dt.date(2026, 4, 7)
    [benefits] = deployment(spec, "benefits-monthly")["schedules"]
    first = next_runs(benefits, 1, dt.datetime(2026, 8, 1, tzinfo=dt.timezone.utc))[0]
    assert first.date() == dt.date(2026, 8, 3) and first.hour == 4  # 1 and 2 August 2026 are a weekend


def test_each_trust_submits_on_the_second_working_day_between_benefits_and_national(spec):
    from pipeline.runtime import get_sites

    schedules = deployment(spec, "submit-monthly")["schedules"]
    trusts = sorted(s.ods_code for s in get_sites(DEPLOY / "sites") if s.role == "trust")
    assert sorted(s["parameters"]["site"] for s in schedules) == trusts  # a publisher has no national return
    assert len({s["slug"] for s in schedules}) == len(schedules)
    [benefits] = deployment(spec, "benefits-monthly")["schedules"]
    [national] = deployment(spec, "national-monthly")["schedules"]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for s in schedules:
        assert s["timezone"] == "Europe/London" and s["active"] is True
        runs = next_runs(s, 12, start)
        assert len({(r.year, r.month) for r in runs}) == 12
        for r, b, n in zip(runs, next_runs(benefits, 12, start), next_runs(national, 12, start)):
            assert b < r < n and (r.hour, r.minute) == (6, 0) and r.weekday() < 5
    assert next_runs(schedules[0], 1, dt.datetime(2026, 8, 1, tzinfo=dt.timezone.utc))[0].date() == dt.date(2026, 8, 4)


def test_kubernetes_job_template_declares_every_placeholder():
    from prefect.utilities.templating import find_placeholders

    template = json.loads((DEPLOY / "k8s" / "base-job-template.json").read_text())
    used = {p.name for p in find_placeholders(template["job_configuration"])}
    declared = set(template["variables"]["properties"])
    assert used <= declared, used - declared
    container = template["job_configuration"]["job_manifest"]["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == "{{ env }}" and container["args"] == "{{ command }}"
    assert {"secretRef": {"name": "{{ secret_name }}"}} in container["envFrom"]
    manifests = list(yaml.safe_load_all((DEPLOY / "k8s" / "worker.yaml").read_text()))
    kinds = {m["kind"] for m in manifests}
    assert {"Namespace", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Deployment"} <= kinds
    worker = next(m for m in manifests if m["kind"] == "Deployment")
    assert "benefits-k8s" in worker["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "Secret" not in kinds  # secrets are created with kubectl, never kept in the repository


def test_dockerfile_runs_flows_from_benefits_repo():
    text = (DEPLOY / "Dockerfile").read_text()
    assert "BENEFITS_REPO=/opt/benefits" in text and "WORKDIR /opt/benefits" in text
    for package in ("benefits", "connectors", "expectations", "flows", "pipeline", "sql"):
        assert f"COPY {package} ./{package}" in text
    assert "USER benefits" in text
