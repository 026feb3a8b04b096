"""What every flow needs: the run's id, one site's config, the I/O retry policy, and how to
tell whether a Prefect server with workers is there to fan out to."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff

from connectors.base import TransientError
from pipeline.alerts import AlertDeliveryError
from pipeline.config.sites import SiteConfig, load_site
from pipeline.warehouse.locks import LockTimeout
from pipeline.runtime import sites_dir as resolve_sites_dir

# Retries are for I/O only (a source or the warehouse briefly unreachable, a deadlock victim,
# an alert webhook down), with exponential backoff and jitter. Bad data is held, never retried.
IO_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    AlertDeliveryError,
    LockTimeout,
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    ConnectionError,
    TimeoutError,
)
IO_RETRIES = int(os.environ.get("BENEFITS_IO_RETRIES", "2"))
IO_RETRY_DELAYS = exponential_backoff(backoff_factor=float(os.environ.get("BENEFITS_IO_RETRY_SECONDS", "20")))
IO_RETRY_JITTER = 0.5


def retry_on_io_error(task, task_run, state) -> bool:  # noqa: ARG001  Prefect's retry_condition_fn signature
    """Retry a failed task only if it failed on I/O."""
    try:
        state.result()
    except IO_ERRORS:
        return True
    except BaseException:  # noqa: BLE001
        return False
    return False


# Options of every task that does I/O: `@task(name=..., **IO_TASK)`. No result caching: each run
# must really extract and load.
IO_TASK = {
    "cache_policy": NO_CACHE,
    "retries": IO_RETRIES,
    "retry_delay_seconds": IO_RETRY_DELAYS,
    "retry_jitter_factor": IO_RETRY_JITTER,
    "retry_condition_fn": retry_on_io_error,
}


class LazyValidator:
    """The warehouse's GX validator, created on first use: a site whose sources are all up to
    date never validates, and importing Great Expectations costs a fresh worker process ~2.5 s."""

    def __init__(self, wh):
        self._wh = wh

    def validate(self, *args, **kwargs):
        from pipeline.runtime import validator

        return validator(self._wh).validate(*args, **kwargs)


def current_flow_run_id() -> str | None:
    try:
        value = flow_run.id
    except Exception:  # outside a flow run
        return None
    return str(value) if value else None


_site_cache: dict[tuple[str, str], tuple[float, SiteConfig]] = {}
_site_lock = threading.Lock()


def site_config(sites_dir: str | Path | None, code: str) -> SiteConfig:
    """One site's config, read from its own file (`<ODS>.yaml`) rather than the whole folder:
    a national run over hundreds of sites would otherwise re-read every file in every task."""
    path = resolve_sites_dir(sites_dir) / f"{code.upper()}.yaml"
    if not path.exists():
        from pipeline.runtime import get_sites

        return get_sites(sites_dir, [code])[0]  # .yml, or a missing site: the folder loader says which
    key = (str(path), code.upper())
    mtime = path.stat().st_mtime
    with _site_lock:
        hit = _site_cache.get(key)
        if hit and hit[0] == mtime:
            return hit[1]
    site = load_site(path)
    with _site_lock:
        _site_cache[key] = (mtime, site)
    return site


def site_systems(site: SiteConfig) -> tuple[str, ...]:
    """The source systems a site's ingest talks to, for per-system concurrency limits: the
    connector of each enabled source (`files`, `sql`, `fhir`, ...)."""
    return tuple(sorted({s.connector for s in site.sources if s.enabled}))


def source_system_tag(connector: str) -> contextlib.AbstractContextManager:
    """Tag the task runs started inside with their source system, so a Prefect tag concurrency
    limit (`prefect concurrency-limit create source-system:fhir 2`) caps loads from one system
    across every flow and worker, scheduled site runs included.

    Only with a configured Prefect server. Prefect's temporary local API is shared with nothing
    (national-run's own per-system limits apply there), and Prefect would ask it for the tag's
    limit before every task: ~0.1 s, at times 2 s waiting on its SQLite database (measured)."""
    from prefect import tags

    return tags(f"source-system:{connector}") if api_url() else contextlib.nullcontext()


def load_secret(name: str) -> str:
    """The value of a Prefect Secret block (how the alert webhook may be configured)."""
    from prefect.blocks.system import Secret

    return str(Secret.load(name).get())


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys allow lower-case letters, digits and dashes only."""
    raw = "-".join(parts).lower()
    return "".join(c if c.isalnum() or c == "-" else "-" for c in raw)


def api_url() -> str | None:
    """The configured Prefect server's API URL; None for none, or for the temporary server that
    `benefits run` launched for itself (flows/ephemeral_api.py), which is shared with nothing."""
    from prefect.settings import get_current_settings

    from flows.ephemeral_api import TEMPORARY_API_ENV

    url = get_current_settings().api.url
    return str(url) if url and str(url) != os.environ.get(TEMPORARY_API_ENV) else None


@contextlib.contextmanager
def quiet_subflows() -> Iterator[None]:
    """Run flows without their own heartbeat thread: in-process subflows, and every flow of a
    command whose API is Prefect's temporary local server.

    Prefect 3.9 joins each flow's heartbeat thread on exit, and the thread sleeps in one-second
    steps: about 0.5-1 s lost per flow (measured; 200 sites = 2-3 minutes). A subflow's parent
    already tells the server this process is alive; a temporary server ends with the process,
    so nothing there would ever look for a missed heartbeat.
    """
    from prefect.settings import temporary_settings

    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield
