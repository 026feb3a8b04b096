"""`submit-site`: a trust's monthly national return, signed and sent (issue 14, docs/federation.md).

Runs on the trust's own worker after its monthly benefits run (deployment `submit-site/submit-monthly`),
against its own warehouse. Where packages go is the worker's BENEFITS_EXCHANGE_URL unless the run
gives `to`; object-storage credentials are the worker's standard AWS_* variables, never parameters,
so nothing secret is stored on the Prefect server.
"""

from __future__ import annotations

import os
import time

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.common import IO_TASK, artifact_key
from pipeline.config.settings import benefits_home, load_settings
from pipeline.federation.keys import load_private
from pipeline.federation.submit import SubmitError, parse_month, shown, submit
from pipeline.runtime import get_sites, warehouse

EXCHANGE_URL_VARIABLE = "BENEFITS_EXCHANGE_URL"


@task(name="submit-package", **IO_TASK)
def submit_task(site: str, to: str, sites_dir: str | None = None, first: str | None = None,
                last: str | None = None) -> dict:  # fmt: skip
    """Build and write one package; a retry after a failed write writes a new one (the unsigned
    folder left behind is incomplete, so the collector never takes it)."""
    t = time.perf_counter()
    settings = load_settings()
    config = get_sites(sites_dir, [site])[0]
    done = submit(
        warehouse(settings),
        config,
        to,
        load_private(benefits_home(), config.ods_code),
        threshold=settings.suppression_threshold,
        first=parse_month(first, "first") if first else None,
        last=parse_month(last, "last") if last else None,
    )
    return {
        "package": done.name,
        "url": done.url,
        "first_month": done.manifest.first_month,
        "last_month": done.manifest.last_month,
        "files": {f.name: f.rows for f in done.manifest.files},
        "seconds": time.perf_counter() - t,
    }


def package_markdown(result: dict) -> str:
    lines = [f"## {result['package']}", "", f"sent to `{result['url']}`", "", "| file | rows |", "|---|---:|"]
    lines += [f"| {name} | {rows:,} |" for name, rows in result["files"].items()]
    return "\n".join(lines) + "\n"


@flow(name="submit-site")
def submit_site(site: str, to: str | None = None, sites_dir: str | None = None, first: str | None = None,
                last: str | None = None) -> dict:  # fmt: skip
    """Send `site`'s national figures for [first, last] (default: every month it has) to `to`
    (default: the worker's BENEFITS_EXCHANGE_URL)."""
    to = to or os.environ.get(EXCHANGE_URL_VARIABLE)
    if not to:
        raise SubmitError(f"no destination: give `to` or set {EXCHANGE_URL_VARIABLE} on the worker")
    result = submit_task(site.upper(), to, sites_dir, first, last)
    create_markdown_artifact(
        markdown=package_markdown(result),
        key=artifact_key("submit", site),
        description=f"{site.upper()}: the national package last submitted, its files and rows",
    )
    get_run_logger().info("submitted %s to %s in %.1f s", result["package"], shown(to), result["seconds"])
    return result
