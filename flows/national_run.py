"""`national-run`: every configured site, fanned out one `ingest-site` run per site, then marts
and benefits once every site has finished, failed or timed out.

With a Prefect server whose `ingest-site/site-daily` deployment has a worker online, each
site runs as a deployment run on whichever worker picks it up; otherwise each site runs as a
subflow in this process. Either way the result has the same shape and the warehouse the same
content. A site that fails, is held or times out is listed (and alerted); the others go on.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.common import (
    IO_TASK,
    current_flow_run_id,
    quiet_subflows,
    site_config,
    site_systems,
)
from flows.fanout import (
    SITE_DEPLOYMENT,
    DeploymentLauncher,
    InProcessLauncher,
    Limits,
    SiteJob,
    SiteRun,
    batch_jobs,
    choose_mode,
    fan_out,
    site_runs,
)
from flows.publish import benefit_statuses, docs_index_task, publish_site_report, publish_summary, raise_alerts
from flows.build_marts import build_marts_task
from flows.ingest_site import ingest_site
from flows.realise_benefits import realise_task
from flows.run_timings import RunTimings
from pipeline import progress
from pipeline.alerts import Alert
from pipeline.runtime import get_sites, prepare_warehouse, simulate_missing, warehouse
from pipeline.config.settings import load_settings


@task(name="prepare-warehouse", **IO_TASK)
def prepare_task(sites_dir: str | None) -> dict[str, tuple[str, ...]]:
    """Schemas for every site and meta.site; returns each site's source systems."""
    from pipeline.warehouse.locks import schema_lock

    settings = load_settings()
    sites = get_sites(sites_dir)
    wh = warehouse(settings)
    with schema_lock(wh):
        prepare_warehouse(wh, sites)
    return {s.ods_code: site_systems(s) for s in sites}


@task(name="simulate-extracts", cache_policy=NO_CACHE)
def simulate_task(sites_dir: str | None) -> list[str]:
    settings = load_settings()
    return simulate_missing(settings, get_sites(sites_dir))


@task(name="publish-reports", cache_policy=NO_CACHE)
def publish_task(sites_dir: str | None, result: dict, by_site: dict[str, list[dict]]) -> None:
    wh = warehouse(load_settings())
    for code, run in result["site_runs"].items():
        site = site_config(sites_dir, code)
        publish_site_report(site, run, by_site.get(code, []), benefit_statuses(wh, site))
    publish_summary(result)


# -- HTML benefits report (issue #8; report engineer): built after the benefits, linked from an artifact --
@task(name="build-report", cache_policy=NO_CACHE)
def report_task(sites_dir: str | None) -> str:
    from prefect.artifacts import create_link_artifact

    from pipeline.report import build_reports

    settings = load_settings()
    index = build_reports(warehouse(settings), get_sites(sites_dir), settings.reports_dir)
    create_link_artifact(link=index.as_uri(), link_text=f"Benefits report: {index}", key="benefits-report",
                         description="This run's HTML benefits report: index, national page, one page per site")
    return str(index)


def _site_problem(run: SiteRun) -> str | None:
    if run.status != "completed":
        return f"ingest-site {run.status}: {run.reason}"
    bad = [o for o in run.outcomes if o.get("status") not in ("loaded", "up_to_date")]
    if bad:
        return "; ".join(f"{o['source_name']}: {o['status']}: {o.get('reason')}" for o in bad)
    return None


@flow(name="national-run")
def national_run(
    sites_dir: str | None = None,
    sites: list[str] | None = None,
    mode: str = "auto",
    max_concurrent_sites: int = 4,
    max_per_system: int = 4,
    system_limits: dict[str, int] | None = None,
    site_timeout_seconds: float = 3600.0,
    timeout_seconds: float = 6 * 3600.0,
    poll_seconds: float = 2.0,
    in_process_concurrency: int = 1,
    site_queues: dict[str, str] | None = None,
    publish: bool = True,
    sites_per_run: int = 1,
) -> dict:
    """Every site end to end, then marts and benefits.

    mode: `auto` (deployments when a worker serves `ingest-site/site-daily`, else in-process),
    `deployments` or `in-process`. Limits: `max_concurrent_sites` overall, `max_per_system`
    per source system (connector), `system_limits` per named system. `site_queues` sends a
    site's run to its own work queue (a worker near its data). `sites_per_run` (deployments only):
    that many sites one after another in one `ingest-sites` run, so a worker starts one process for
    them instead of one each (many small sites; docs/deploy.md).
    """
    logger = get_run_logger()
    timings = RunTimings()
    with timings.measure("setup_seconds"):  # two tasks of setup; counted as data work
        systems, codes = _setup(sites_dir, sites, logger)
    chosen, why = choose_mode(mode)
    logger.info("fan-out over %d sites: %s (%s)", len(codes), chosen, why)
    # In process, the thread pool is the overall limit.
    overall = max_concurrent_sites if chosen == "deployments" else min(in_process_concurrency, max_concurrent_sites)
    limits = Limits(overall, max_per_system, dict(system_limits or {}))
    launcher = _launcher(chosen, sites_dir, site_queues, site_timeout_seconds, overall)
    jobs = _jobs(chosen, [SiteJob(c, systems[c]) for c in codes], sites_per_run, site_queues)
    with timings.measure("fanout_seconds"):
        runs = _run_sites(jobs, launcher, limits, site_timeout=site_timeout_seconds, timeout=timeout_seconds,
                          poll_seconds=poll_seconds)  # fmt: skip
    outcomes = [o for run in runs.values() for o in run.outcomes]
    timings.record_ingest(outcomes, _build_docs_index(chosen, outcomes))
    progress.emit("stage", name="marts")
    models, timings.seconds["marts_seconds"] = build_marts_task(sites_dir)
    progress.emit("stage", name="benefits")
    benefits, timings.seconds["benefits_seconds"] = realise_task(sites_dir)
    failed_sites = _failed_sites(runs, logger)
    result = {"outcomes": outcomes, "failed_sites": failed_sites, "models": models, "benefits": benefits,
              "mode": chosen, "site_runs": {code: run.as_dict() for code, run in runs.items()}}  # fmt: skip
    with timings.measure("artifacts_seconds"):
        if publish:
            publish_task(sites_dir, result, {code: run.outcomes for code, run in runs.items()})
    progress.emit("stage", name="report")  # HTML report (issue #8); a failure is logged, never fails the run
    with timings.measure("html_report_seconds"):
        report = report_task(sites_dir, return_state=True)
    result["report"] = _report_path(report, logger)
    raise_alerts(_unfinished(runs))
    result["timings"] = timings.finish()
    return result


def _setup(sites_dir: str | None, sites: list[str] | None, logger) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """The warehouse prepared and missing extracts simulated; each site's systems, and the sites to run."""
    systems = prepare_task(sites_dir)
    codes = list(systems)
    if sites:
        wanted = {s.upper() for s in sites}
        codes = [c for c in codes if c in wanted]
    progress.emit("run_started", sites=codes)
    simulated = simulate_task(sites_dir)
    if simulated:
        logger.info("simulated extracts for %s", ", ".join(simulated))
    return systems, codes


def _launcher(chosen: str, sites_dir: str | None, site_queues: dict[str, str] | None, site_timeout: float,
              concurrency: int) -> DeploymentLauncher | InProcessLauncher:  # fmt: skip
    if chosen == "deployments":
        return DeploymentLauncher(
            SITE_DEPLOYMENT, sites_dir=sites_dir, site_queues=site_queues, parent_run_id=current_flow_run_id()
        )
    site_flow = ingest_site.with_options(timeout_seconds=site_timeout)
    return InProcessLauncher(
        lambda code: site_flow(site=code, sites_dir=sites_dir, prepare=False, docs_index=False, return_state=True),
        concurrency=concurrency,
    )


def _jobs(chosen: str, jobs: list[SiteJob], sites_per_run: int, site_queues: dict[str, str] | None) -> list[SiteJob]:
    """Batches of `sites_per_run` sites go only to deployments: in process, a site is a subflow of this run."""
    return batch_jobs(jobs, sites_per_run, site_queues) if chosen == "deployments" else jobs


def _build_docs_index(chosen: str, outcomes: list[dict]) -> float | None:
    """In process, the Data Docs index once for every batch validated (a worker's site run builds its own);
    its seconds, or None when there was nothing to build it for."""
    if chosen == "in-process" and any(o.get("batch_id") for o in outcomes):
        return docs_index_task()
    return None


def _run_sites(jobs: list[SiteJob], launcher, limits: Limits, **timeouts: float) -> dict[str, SiteRun]:
    """Every job fanned out, the launcher closed after; one SiteRun per site (a batch's split into its sites')."""
    try:
        with quiet_subflows():
            runs = fan_out(jobs, launcher, limits, on_event=progress.emit, **timeouts)
    finally:
        launcher.close()
    return site_runs(runs, jobs)


def _failed_sites(runs: dict[str, SiteRun], logger) -> dict[str, str]:
    """What went wrong at each site that did not load cleanly (logged as an error)."""
    failed = {code: problem for code, run in runs.items() if (problem := _site_problem(run))}
    for code, why_failed in failed.items():
        logger.error("site %s did not complete: %s", code, why_failed)
    return failed


def _report_path(report, logger) -> str | None:
    """The HTML report's index from the state of its task, or None (logged) when it was not built."""
    if report.is_completed():
        return report.result()
    logger.error("benefits report not built: %s", report.message)
    return None


def _unfinished(runs: dict[str, SiteRun]) -> list[Alert]:
    """Held batches and failed sources were alerted by the site runs themselves; here only the
    runs that ended without reporting (failed, crashed, cancelled, timed out, never started)."""
    return [
        Alert(
            kind="site_timed_out" if run.status in ("timed_out", "not_started") else "site_failed",
            site=code,
            reason=run.reason,
            flow_run_id=run.flow_run_id,
        )
        for code, run in runs.items()
        if run.status != "completed"
    ]
