"""The fan-out loop: concurrency limits overall and per source system, per-site and overall
timeouts, a site that cannot start. Driven by a launcher whose runs finish after a set number of
polls, on a clock the test advances, so every interleaving is deterministic."""

from __future__ import annotations

from collections import Counter

import pytest

from flows.fanout import Limits, SiteJob, SiteRun, choose_mode, fan_out


class ScriptedLauncher:
    """Each site finishes after `polls[code]` polls (None: never); one poll = 10 s of clock."""

    mode = "scripted"

    def __init__(self, polls: dict[str, int | None], systems: dict[str, tuple[str, ...]], fail_start=()):
        self.polls, self.systems, self.fail_start = polls, systems, set(fail_start)
        self.now = 0.0
        self.running: dict[str, int] = {}
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.max_overall = 0
        self.max_system: Counter[str] = Counter()

    def clock(self) -> float:
        return self.now

    def start(self, job: SiteJob):
        if job.code in self.fail_start:
            raise ConnectionError("API unavailable")
        self.running[job.code] = 0
        self.started.append(job.code)
        self.max_overall = max(self.max_overall, len(self.running))
        use = Counter(s for c in self.running for s in self.systems[c])
        for s, n in use.items():
            self.max_system[s] = max(self.max_system[s], n)
        return job.code

    def poll(self, handles):
        done = {}
        for code in handles:
            self.running[code] += 1
            need = self.polls[code]
            if need is not None and self.running[code] >= need:
                done[code] = SiteRun(code, "completed", outcomes=[{"site_code": code, "status": "loaded"}])
        for code in done:
            del self.running[code]
        return done

    def cancel(self, code, handle, reason):
        self.cancelled.append(code)
        self.running.pop(code, None)

    def wait(self, handles, seconds):
        self.now += 10

    def close(self):
        pass


def jobs_for(systems):
    return [SiteJob(code, s) for code, s in systems.items()]


def test_limits_overall_and_per_system():
    systems = {f"S{i:02d}": (("sql",) if i % 3 == 0 else ("files",)) + (("fhir",) if i % 4 == 0 else ()) for i in range(12)}
    launcher = ScriptedLauncher({c: 1 + i % 3 for i, c in enumerate(systems)}, systems)
    runs = fan_out(
        jobs_for(systems), launcher, Limits(overall=4, per_system=3, systems={"fhir": 1}),
        site_timeout=1000, timeout=10_000, clock=launcher.clock,
    )  # fmt: skip
    assert [r.status for r in runs.values()] == ["completed"] * 12
    assert list(runs) == list(systems)  # results in job order
    assert launcher.max_overall == 4
    assert launcher.max_system["files"] == 3 and launcher.max_system["fhir"] == 1
    assert launcher.max_system["sql"] <= 3


def test_a_site_waiting_for_a_busy_system_does_not_hold_up_the_rest():
    systems = {"A": ("fhir",), "B": ("fhir",), "C": ("files",)}
    launcher = ScriptedLauncher({"A": 3, "B": 1, "C": 1}, systems)
    fan_out(jobs_for(systems), launcher, Limits(overall=3, per_system=1), site_timeout=1000, timeout=10_000, clock=launcher.clock)
    assert launcher.started == ["A", "C", "B"]


def test_timeouts_and_a_site_that_cannot_start():
    systems = {"A": ("files",), "B": ("files",), "C": ("files",), "D": ("files",)}
    launcher = ScriptedLauncher({"A": 1, "B": None, "C": 2, "D": 1}, systems, fail_start={"D"})
    runs = fan_out(jobs_for(systems), launcher, Limits(overall=2), site_timeout=25, timeout=10_000, clock=launcher.clock)
    assert runs["A"].status == "completed" and runs["C"].status == "completed"
    assert runs["B"].status == "timed_out" and "25 s" in runs["B"].reason
    assert runs["D"].status == "failed" and "could not start" in runs["D"].reason
    assert launcher.cancelled == ["B"]

    # The overall wait ends: what runs is cancelled and reported, what never started is listed.
    launcher = ScriptedLauncher({"A": None, "B": None, "C": 1, "D": 1}, systems)
    runs = fan_out(jobs_for(systems), launcher, Limits(overall=2), site_timeout=1000, timeout=35, clock=launcher.clock)
    assert {c: r.status for c, r in runs.items()} == {
        "A": "timed_out", "B": "timed_out", "C": "not_started", "D": "not_started",
    }  # fmt: skip
    assert sorted(launcher.cancelled) == ["A", "B"]


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        Limits(overall=0)
    with pytest.raises(ValueError):
        Limits(systems={"sql": 0})


def test_mode_without_deployments_is_in_process(prefect_server):
    mode, why = choose_mode("auto")
    assert mode == "in-process" and "ingest-site/site-daily" in why
    assert choose_mode("in-process") == ("in-process", "requested")
    with pytest.raises(RuntimeError, match="no deployment"):
        choose_mode("deployments")
    with pytest.raises(ValueError):
        choose_mode("sometimes")


OUTCOME = {"site_code": "RXX", "source_name": "epma", "dataset": "medication_administrations", "status": "loaded",
           "rows_in": 10, "rows_loaded": 9, "rows_quarantined": 1, "batch_id": "b1", "seconds": 1.0}  # fmt: skip


def _finished_site_run(publish: bool):
    """A real flow run that finished, and the state Prefect's engine hands back when the API refuses a
    second "Completed" for it (what a client retry after a slow response meets): the API's copy, no data."""
    from prefect import flow, get_client
    from prefect.states import Completed
    from prefect.utilities.engine import propose_state_sync

    from flows.publish import publish_ingest_table

    @flow(name="site-like")
    def site_like() -> list[dict]:
        if publish:
            publish_ingest_table("RXX", [OUTCOME])
        return [OUTCOME]

    state = site_like(return_state=True)
    assert state.is_completed() and state.result()[0]["rows_loaded"] == 9
    with get_client(sync_client=True) as client:
        again = propose_state_sync(client, Completed(), flow_run_id=state.state_details.flow_run_id)
    return state, again


def test_a_completed_site_whose_state_lost_its_result_reads_its_published_outcomes(prefect_server):
    from prefect.exceptions import MissingResult

    from flows.fanout import run_from_state

    state, again = _finished_site_run(publish=True)
    with pytest.raises(MissingResult):
        again.result()
    run = run_from_state("RXX", again, seconds=2.0)
    assert run.status == "completed" and run.flow_run_id == str(state.state_details.flow_run_id)
    assert [(o["source_name"], o["rows_loaded"], o["batch_id"]) for o in run.outcomes] == [("epma", 9, "b1")]


def test_a_completed_site_with_neither_result_nor_outcome_table_is_failed_not_empty(prefect_server):
    from flows.fanout import run_from_state

    _, again = _finished_site_run(publish=False)
    run = run_from_state("RXX", again)
    assert run.status == "failed" and "outcome table" in run.reason


def test_sites_in_batches_keep_order_never_mix_queues_and_hold_every_system():
    from flows.fanout import batch_jobs

    jobs = [SiteJob(c, (s,)) for c, s in [("A", "files"), ("B", "sql"), ("C", "files"), ("D", "fhir"), ("E", "files")]]
    assert batch_jobs(jobs, 1) == jobs
    got = batch_jobs(jobs, 2, {"d": "site-d"})
    assert [(j.code, j.sites, j.systems) for j in got] == [
        ("A..B", ("A", "B"), ("files", "sql")),
        ("C..E", ("C", "E"), ("files",)),
        ("D", (), ("fhir",)),  # alone on its own queue: an ordinary site run
    ]
    assert [j.members for j in got] == [("A", "B"), ("C", "E"), ("D",)]


def test_a_batch_counts_once_against_the_limits_and_gets_a_timeout_per_site():
    from flows.fanout import batch_jobs

    jobs = batch_jobs([SiteJob(c, ("files",)) for c in "ABCD"], 2)
    launcher = ScriptedLauncher({"A..B": 25, "C..D": 1}, {"A..B": ("files",), "C..D": ("files",)})
    runs = fan_out(jobs, launcher, Limits(overall=1), site_timeout=150, timeout=10_000, clock=launcher.clock)
    # 25 polls = 250 s: past one site's 150 s, within the batch's 300 s.
    assert {c: r.status for c, r in runs.items()} == {"A..B": "completed", "C..D": "completed"}
    assert launcher.max_overall == 1


def test_a_batch_splits_into_its_sites_runs_and_a_site_it_never_reached_is_reported():
    from flows.fanout import site_runs

    jobs = [SiteJob("A..C", ("files",), ("A", "B", "C")), SiteJob("D")]
    batch = SiteRun("A..C", "crashed", reason="worker lost", worker="w1",
                    parts=[SiteRun("A", "completed", outcomes=[{"status": "loaded"}]), SiteRun("B", "failed", reason="held")])  # fmt: skip
    runs = site_runs({"A..C": batch, "D": SiteRun("D", "completed")}, jobs)
    assert list(runs) == ["A", "B", "C", "D"]
    assert [runs[c].status for c in "ABCD"] == ["completed", "failed", "crashed", "completed"]
    assert runs["C"].reason.startswith("batch A..C ended crashed") and "worker lost" in runs["C"].reason
    assert runs["A"].outcomes == [{"status": "loaded"}] and "parts" not in runs["A"].as_dict()
