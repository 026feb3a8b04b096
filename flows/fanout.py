"""Fan-out: one `ingest-site` run per site, at most N at once overall and M per source system,
each with a timeout, until every site has finished, failed or timed out.

One loop, two ways to run a site:
- `DeploymentLauncher` starts each site with `run_deployment` on `ingest-site/site-daily`, so
  the runs go to whatever workers serve that deployment's pool (or a site's own work queue).
  One API call per poll reads the state of every running site; a finished site's outcomes
  come from the table artifact it published.
- `InProcessLauncher` runs the `ingest_site` flow as a subflow in this process, on a small
  thread pool (one thread by default: the embedded warehouse has a single writer, and the
  ephemeral API's SQLite database turns concurrent runs into lock waits).

The limits are applied here, before a run exists, so a national run never floods a pool or a
source system; Prefect's own work-pool and global concurrency limits still apply on top.
"""

from __future__ import annotations

import contextvars
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import asdict, dataclass, field
from typing import Protocol

from pipeline.config.settings import debug_enabled

log = logging.getLogger(__name__)

SITE_DEPLOYMENT = "ingest-site/site-daily"
BATCH_DEPLOYMENT = "ingest-sites/site-batch"
FINAL = ("completed", "failed", "crashed", "cancelled", "timed_out", "not_started")


@dataclass(frozen=True)
class SiteJob:
    code: str
    systems: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()  # a batch (deployments only): these sites, one after another, in one run

    @property
    def members(self) -> tuple[str, ...]:
        return self.sites or (self.code,)


def batch_jobs(jobs: list[SiteJob], size: int, queues: dict[str, str] | None = None) -> list[SiteJob]:
    """Sites in runs of `size`, in order, a batch never mixing work queues (a site's queue is where its
    data is). A batch holds every system its sites use, for the per-system limits."""
    if size <= 1:
        return jobs
    queues = {k.upper(): v for k, v in (queues or {}).items()}
    out: list[SiteJob] = []
    for queue in dict.fromkeys(queues.get(j.code) for j in jobs):
        mine = [j for j in jobs if queues.get(j.code) == queue]
        for i in range(0, len(mine), size):
            part = mine[i : i + size]
            if len(part) == 1:
                out.append(part[0])
                continue
            systems = tuple(dict.fromkeys(s for j in part for s in j.systems))
            out.append(SiteJob(f"{part[0].code}..{part[-1].code}", systems, tuple(j.code for j in part)))
    return out


def site_runs(runs: dict[str, SiteRun], jobs: list[SiteJob]) -> dict[str, SiteRun]:
    """One SiteRun per site: a batch's run split into its sites' runs; a site the batch never
    reached ends as the batch did, with the batch's reason."""
    out: dict[str, SiteRun] = {}
    for job in jobs:
        run = runs[job.code]
        if not job.sites:
            out[job.code] = run
            continue
        parts = {r.code: r for r in run.parts}
        for code in job.sites:
            out[code] = parts.get(code) or SiteRun(
                code, "failed" if run.status == "completed" else run.status, worker=run.worker,
                reason=f"batch {job.code} ended {run.status} before this site's run finished"
                + (f": {run.reason}" if run.reason else ""),
            )  # fmt: skip
    return out


@dataclass
class SiteRun:
    """How one site's run ended (status is one of FINAL) and what it reported."""

    code: str
    status: str
    outcomes: list[dict] = field(default_factory=list)
    reason: str | None = None
    flow_run_id: str | None = None
    worker: str | None = None
    seconds: float | None = None  # running time of the site's flow run
    queued_seconds: float | None = None  # from submission to start (deployments only)
    parts: list[SiteRun] = field(default_factory=list)  # a batch's sites

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("outcomes")
        d.pop("parts")
        return d


@dataclass(frozen=True)
class Limits:
    overall: int = 4
    per_system: int = 4
    systems: dict[str, int] = field(default_factory=dict)  # per-system overrides

    def __post_init__(self) -> None:
        if self.overall < 1 or self.per_system < 1 or any(v < 1 for v in self.systems.values()):
            raise ValueError("concurrency limits must be at least 1")

    def for_system(self, system: str) -> int:
        return self.systems.get(system, self.per_system)


class Launcher(Protocol):
    mode: str

    def start(self, job: SiteJob) -> object: ...

    def poll(self, handles: dict[str, object]) -> dict[str, SiteRun]: ...

    def cancel(self, code: str, handle: object, reason: str) -> None: ...

    def wait(self, handles: dict[str, object], seconds: float) -> None: ...

    def close(self) -> None: ...


def fan_out(
    jobs: list[SiteJob],
    launcher: Launcher,
    limits: Limits,
    *,
    site_timeout: float,
    timeout: float,
    poll_seconds: float = 2.0,
    on_event: Callable[..., None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, SiteRun]:
    """Run every job within the limits; returns one SiteRun per job, in job order."""
    sites = _Sites(launcher, limits, on_event or (lambda *a, **k: None), clock, list(jobs))
    started_at = clock()
    while sites.pending or sites.running:
        sites.start_what_fits()
        if not sites.running:
            if sites.pending:  # nothing running yet nothing fits: a limit below what a site needs
                raise RuntimeError(f"no site can start within the limits {limits}")
            break
        sites.collect_finished()
        now = clock()
        sites.time_out_slow(now, site_timeout)
        if now - started_at > timeout:
            sites.stop_all(f"timed out: the national run stopped waiting after {timeout:.0f} s")
            break
        if sites.running:
            launcher.wait(sites.handles(), poll_seconds)
    return {j.code: sites.done[j.code] for j in jobs}


@dataclass
class _Sites:
    """The fan-out's bookkeeping: sites waiting, running (job, handle, start time) and done, and
    how many running sites use each source system."""

    launcher: Launcher
    limits: Limits
    emit: Callable[..., None]
    clock: Callable[[], float]
    pending: list[SiteJob]
    running: dict[str, tuple[SiteJob, object, float]] = field(default_factory=dict)
    in_use: Counter[str] = field(default_factory=Counter)
    done: dict[str, SiteRun] = field(default_factory=dict)

    def handles(self) -> dict[str, object]:
        return {c: h for c, (_, h, _) in self.running.items()}

    def start_what_fits(self) -> None:
        """Start whatever fits, in order; a site waiting for a busy system does not hold up the rest."""
        for job in list(self.pending):
            if len(self.running) >= self.limits.overall:
                break
            if any(self.in_use[s] >= self.limits.for_system(s) for s in job.systems):
                continue
            self.pending.remove(job)
            self._start(job)

    def _start(self, job: SiteJob) -> None:
        self.emit("site_started", site=job.code)
        try:
            handle = self.launcher.start(job)
        except Exception as exc:  # noqa: BLE001  one site that cannot start must not stop the others
            log.error("site %s could not be started: %s: %s", job.code, type(exc).__name__, exc, exc_info=debug_enabled())
            self.done[job.code] = SiteRun(job.code, "failed", reason=f"could not start: {type(exc).__name__}: {exc}")
            self.emit("site_finished", site=job.code, failed=True, status="failed")
            return
        self.running[job.code] = (job, handle, self.clock())
        self.in_use.update(job.systems)

    def collect_finished(self) -> None:
        for code, run in self.launcher.poll(self.handles()).items():
            if code in self.running:
                self._finish(code, run)

    def time_out_slow(self, now: float, site_timeout: float) -> None:
        """Cancel each site that has run longer than its timeout (a batch's: its sites' one after another)."""
        for code, (job, handle, t) in list(self.running.items()):
            limit = site_timeout * len(job.members)
            if now - t > limit:
                reason = f"timed out: no result within {limit:.0f} s of being started"
                self.launcher.cancel(code, handle, reason)
                self._finish(code, SiteRun(code, "timed_out", reason=reason))

    def stop_all(self, reason: str) -> None:
        """Cancel every running site and start no more."""
        for code, (_, handle, _) in list(self.running.items()):
            self.launcher.cancel(code, handle, reason)
            self._finish(code, SiteRun(code, "timed_out", reason=reason))
        for job in self.pending:
            self.done[job.code] = SiteRun(job.code, "not_started", reason=reason)
        self.pending.clear()

    def _finish(self, code: str, run: SiteRun) -> None:
        job, _, _ = self.running.pop(code)
        self.in_use.subtract(job.systems)
        self.done[code] = run
        self.emit("site_finished", site=code, failed=run.status != "completed" or _has_problem(run), status=run.status)


def _has_problem(run: SiteRun) -> bool:
    return any(o.get("status") not in ("loaded", "up_to_date") for o in run.outcomes)


# -- in this process ---------------------------------------------------------------------


class InProcessLauncher:
    """Sites as subflows of the calling flow, on `concurrency` threads."""

    mode = "in-process"

    def __init__(self, run_site: Callable[[str], object], concurrency: int = 1):
        self._run_site = run_site  # code -> Prefect State of the site's flow run
        self._pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="site")

    def start(self, job: SiteJob) -> Future:
        # Copy the caller's context so each site run is a child of the national run.
        ctx = contextvars.copy_context()
        return self._pool.submit(ctx.run, self._timed, job.code)

    def _timed(self, code: str):
        t = time.perf_counter()
        state = self._run_site(code)
        return state, time.perf_counter() - t

    def poll(self, handles: dict[str, object]) -> dict[str, SiteRun]:
        out = {}
        for code, fut in handles.items():
            assert isinstance(fut, Future)
            if not fut.done():
                continue
            try:
                state, seconds = fut.result()
            except Exception as exc:  # noqa: BLE001
                out[code] = SiteRun(code, "crashed", reason=f"{type(exc).__name__}: {exc}")
                continue
            out[code] = run_from_state(code, state, seconds)
        return out

    def cancel(self, code: str, handle: object, reason: str) -> None:
        # A thread cannot be stopped from outside; the site's flow has its own timeout, and the
        # marts build waits (staging lock) for any load it is still committing.
        assert isinstance(handle, Future)
        handle.cancel()
        log.warning("site %s: %s", code, reason)

    def wait(self, handles: dict[str, object], seconds: float) -> None:
        wait_futures([h for h in handles.values() if isinstance(h, Future)], timeout=seconds, return_when=FIRST_COMPLETED)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def run_from_state(code: str, state, seconds: float | None = None, flow_run_id: str | None = None) -> SiteRun:
    from prefect.exceptions import MissingResult

    flow_run_id = flow_run_id or (str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None)
    if state.is_completed():
        try:
            outcomes = state.result()
        except MissingResult:
            # A set-state call the client retried (a slow API) is refused as "already COMPLETED", and the
            # engine then hands back the API's copy of the state, which holds no result. The run did
            # finish: its outcomes are the table it published, as for a run on a worker.
            outcomes = published_outcomes({flow_run_id: code}).get(flow_run_id) if flow_run_id else None
            if outcomes is None:
                return SiteRun(code, "failed", reason="the site run completed but its result and outcome table are missing",
                               seconds=seconds, flow_run_id=flow_run_id)  # fmt: skip
        return SiteRun(code, "completed", outcomes=list(outcomes or []), seconds=seconds, flow_run_id=flow_run_id)
    try:
        state.result()
        reason = state.message
    except Exception as exc:  # noqa: BLE001  the flow's exception is the reason
        reason = f"{type(exc).__name__}: {exc}"
    status = {"CRASHED": "crashed", "CANCELLED": "cancelled"}.get(state.type.value, "failed")
    if "TimeoutError" in (reason or "") or "exceeded timeout" in (reason or ""):
        status = "timed_out"
    return SiteRun(code, status, reason=(reason or state.type.value)[:1500], seconds=seconds, flow_run_id=flow_run_id)


def published_outcomes(runs: dict[str, str], client=None) -> dict[str, list[dict]]:
    """Outcomes by flow run id, from the table artifact each site run publishes (`runs`: flow run id -> site)."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    from flows.publish import ingest_artifact_key, outcomes_from_table_artifact

    if not runs:
        return {}
    if client is None:
        with get_client(sync_client=True) as own:
            return published_outcomes(runs, own)
    artifacts = client.read_artifacts(
        artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=list(runs)),
            key=ArtifactFilterKey(any_=[ingest_artifact_key(code) for code in runs.values()]),
        ),
        limit=len(runs) * 2,
    )
    return {str(a.flow_run_id): outcomes_from_table_artifact(a.data) for a in artifacts}


def _batch_run_of(r, code: str, members: list, outcomes: dict) -> SiteRun:
    """A finished batch run, its sites' own runs as its parts. A batch completes even when a site in it
    fails (it publishes no outcome table of its own, hence the empty one); its sites' runs say how each went."""
    run = _run_of(r, code, {str(r.id): []})
    run.parts = [_run_of(m, m.parameters.get("site", ""), outcomes, worker=run.worker, queued=run.queued_seconds)
                 for m in members]  # fmt: skip
    return run


def _run_of(r, code: str, outcomes: dict[str, list[dict]], worker: str | None = None, queued: float | None = None) -> SiteRun:
    """A finished flow run read from the API as a SiteRun; outcomes from the table it published."""
    if r.state.is_completed():
        got = outcomes.get(str(r.id))
        if got is None:
            run = SiteRun(code, "failed", reason="the site run completed but published no outcome table")
        else:
            run = SiteRun(code, "completed", outcomes=got)
    else:
        status = {"CRASHED": "crashed", "CANCELLED": "cancelled"}.get(r.state.type.value, "failed")
        run = SiteRun(code, status, reason=(r.state.message or r.state.type.value)[:1500])
    run.flow_run_id = str(r.id)
    run.worker = (r.labels or {}).get("prefect.worker.name") or worker
    run.seconds = r.total_run_time.total_seconds() if r.total_run_time else None
    run.queued_seconds = queued
    if queued is None and r.start_time and r.expected_start_time:
        run.queued_seconds = max(0.0, (r.start_time - r.expected_start_time).total_seconds())
    return run


# -- through a deployment and its workers -------------------------------------------------


class DeploymentLauncher:
    """Sites as runs of the `ingest-site` deployment, picked up by the pool's workers."""

    mode = "deployments"

    def __init__(
        self,
        deployment: str,
        *,
        sites_dir: str | None,
        site_queues: dict[str, str] | None = None,
        parent_run_id: str | None = None,
    ):
        from prefect import get_client

        self.deployment = deployment
        self.sites_dir = sites_dir
        self.site_queues = {k.upper(): v for k, v in (site_queues or {}).items()}
        self.parent_run_id = parent_run_id
        self._client_cm = get_client(sync_client=True)
        self.client = self._client_cm.__enter__()
        self._jobs: dict[str, SiteJob] = {}

    def start(self, job: SiteJob) -> str:
        from prefect.deployments import run_deployment

        if job.sites:
            deployment, parameters, name = BATCH_DEPLOYMENT, {"sites": list(job.sites)}, f"ingest-sites-{job.code}"
        else:
            deployment, parameters, name = self.deployment, {"site": job.code}, f"ingest-site-{job.code}"
        self._jobs[job.code] = job
        run = run_deployment(
            deployment,
            parameters={**parameters, "sites_dir": self.sites_dir, "prepare": False},
            timeout=0,
            as_subflow=True,
            flow_run_name=name,
            tags=["national-run"],
            # A retried national run finds the site runs it already started instead of doubling them.
            idempotency_key=f"{self.parent_run_id}:{job.code}" if self.parent_run_id else None,
            work_queue_name=self.site_queues.get(job.members[0]),
        )
        return str(run.id)

    def poll(self, handles: dict[str, object]) -> dict[str, SiteRun]:
        by_id = {str(h): code for code, h in handles.items()}
        final = self._finished(by_id)
        members = {str(r.id): self._members(str(r.id)) for r in final if self._jobs[by_id[str(r.id)]].sites}
        # Every finished site run with its site: plain runs, and the subflow runs inside finished batches.
        ended = [(r, by_id[str(r.id)]) for r in final if str(r.id) not in members]
        ended += [(m, m.parameters.get("site", "")) for ms in members.values() for m in ms]
        outcomes = published_outcomes({str(r.id): code for r, code in ended if r.state.is_completed()}, self.client)
        return {by_id[str(r.id)]: _batch_run_of(r, by_id[str(r.id)], members[str(r.id)], outcomes)
                if str(r.id) in members else _run_of(r, by_id[str(r.id)], outcomes)
                for r in final}  # fmt: skip

    def _finished(self, by_id: dict[str, str]) -> list:
        """The runs among `by_id` (flow run id -> job code) that have reached a final state."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        if not by_id:
            return []
        runs = self.client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(by_id))), limit=len(by_id)
        )
        return [r for r in runs if r.state is not None and r.state.is_final()]

    def _members(self, batch_id: str) -> list:
        """The finished `ingest-site` subflow runs of a batch run."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

        kids = self.client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[batch_id]))
        )
        return [k for k in kids if k.state is not None and k.state.is_final()]

    def cancel(self, code: str, handle: object, reason: str) -> None:
        from prefect.states import Cancelling

        try:
            self.client.set_flow_run_state(str(handle), Cancelling(message=reason), force=True)
        except Exception as exc:  # noqa: BLE001  reporting the timeout matters more than the cancel
            log.error("site %s: could not cancel flow run %s: %s", code, handle, exc, exc_info=debug_enabled())

    def wait(self, handles: dict[str, object], seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> None:
        self._client_cm.__exit__(None, None, None)


def choose_mode(requested: str, deployment: str = SITE_DEPLOYMENT) -> tuple[str, str]:
    """("deployments" | "in-process", why). `auto` fans out to workers only when a server is
    configured, the site deployment exists and its work pool has a worker online."""
    from flows.common import api_url

    if requested not in ("auto", "deployments", "in-process"):
        raise ValueError(f"mode must be auto, deployments or in-process, not {requested!r}")
    if requested == "in-process":
        return "in-process", "requested"
    if not api_url():
        if requested == "deployments":
            raise RuntimeError("mode=deployments needs a Prefect server: set PREFECT_API_URL")
        return "in-process", "no Prefect server configured (PREFECT_API_URL is not set)"
    from prefect import get_client
    from prefect.client.schemas.objects import WorkPoolStatus
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            dep = client.read_deployment_by_name(deployment)
        except ObjectNotFound:
            if requested == "deployments":
                raise RuntimeError(f"mode=deployments: no deployment {deployment!r} on the server") from None
            return "in-process", f"no deployment {deployment!r} on the server"
        if requested == "deployments":
            return "deployments", "requested"
        pool = client.read_work_pool(dep.work_pool_name) if dep.work_pool_name else None
        if pool is None or pool.status != WorkPoolStatus.READY:
            return "in-process", f"work pool {dep.work_pool_name!r} has no worker online"
    return "deployments", f"deployment {deployment!r} on work pool {dep.work_pool_name!r}"
