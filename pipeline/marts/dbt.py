"""The SQL layer (sql/, a dbt project) built by dbt instead of the runner, in-process.

    benefits dbt vars             # the --vars for `dbt build` from sql/
    benefits dbt build [--local]  # staging, measures, suppression, national (and local marts)

(the sites from deploy/sites, or BENEFITS_SITES_DIR; the warehouse from the settings, as `benefits run`).

The run-time inputs the runner gives its models (the measures read from their SQL headers, the
NHS calendar, whether the ODS register is there, one site's context) are dbt vars here. Small-number
suppression is Python (pipeline.marts.suppression): dbt builds everything the suppression step
reads, the step writes measures.disclosure_control (a dbt source), then dbt builds what reads it
(`source:suppression.disclosure_control+`, the national facts and rollups). The local marts are
built as the runner builds them: each model once over every trust (var `trusts`), as
measures.<table>_all, then the local_<ods> views of it in one transaction, by the runner's own step
(pipeline.warehouse.models.publish_local_views).

What this does not give, and the runner does (docs/architecture.md): one transaction around the
whole build (dbt commits model by model, so readers can see a half refresh). The PostgreSQL
advisory locks are the caller's, held around all invocations (`benefits dbt build` holds staging_snapshot_lock);
the local marts' grants are `benefits warehouse grant`'s, as after the runner.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config.sites import SiteConfig
from pipeline.marts.build import _disclosure_model, local_measures, model_vars
from pipeline.warehouse.core import Warehouse
from pipeline.warehouse.models import local_mart_models, publish_local_views, sql_root

os.environ.setdefault("DO_NOT_TRACK", "1")  # dbt's anonymous usage tracking off (also flags: in dbt_project.yml)
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")

SUPPRESSED = "source:suppression.disclosure_control+"
LOCAL = "marts.local"


class DbtError(RuntimeError):
    """A dbt invocation failed; the message names the nodes that failed and why."""


def dbt_vars(wh: Warehouse, sites: list[SiteConfig], *, suppression_threshold: int,
             local_sql: str | Path | None = None) -> dict:
    """The vars the models read (the runner's context, as build_marts makes it)."""
    trusts = [s for s in sites if s.role == "trust"]
    local = tuple(m for s in trusts for m in local_measures(s.ods_code, local_sql))
    return model_vars(wh, trusts, local, suppression_threshold)


def profile_env(wh: Warehouse) -> dict[str, str]:
    """The environment sql/profiles.yml reads, from the pipeline's warehouse URL."""
    url = wh.engine.url
    if wh.is_duckdb:
        return {"BENEFITS_DBT_TARGET": "duckdb", "BENEFITS_DBT_DUCKDB_PATH": str(Path(url.database).resolve())}
    return {
        "BENEFITS_DBT_TARGET": "postgres",
        "BENEFITS_PG_HOST": url.host or "127.0.0.1",
        "BENEFITS_PG_PORT": str(url.port or 5432),
        "BENEFITS_PG_USER": url.username or os.environ.get("PGUSER", "postgres"),
        "BENEFITS_PG_PASSWORD": url.password or "",
        "BENEFITS_PG_DATABASE": url.database or "postgres",
    }


@dataclass
class DbtRun:
    built: list[str] = field(default_factory=list)  # schema.table of every model built
    tests: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def invoke(args: list[str], env: dict[str, str], vars_: dict, on_node: Callable[[str, str], None] | None = None,
           target_path: Path | None = None) -> list:
    """One in-process dbt invocation from sql/; dbt's per-node results, DbtError when any failed."""
    from dbt.cli.main import dbtRunner

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    root = sql_root()
    extra = ["--project-dir", str(root), "--profiles-dir", str(root), "--vars", json.dumps(vars_), "--quiet",
             "--no-use-colors", "--no-send-anonymous-usage-stats"]
    if target_path:  # else sql/target and sql/logs (git-ignored)
        extra += ["--target-path", str(target_path), "--log-path", str(target_path / "logs")]

    def callback(event) -> None:
        if on_node and event.info.name == "NodeFinished":
            node = event.data.node_info
            on_node(node.node_name, node.node_status)

    try:
        res = dbtRunner(callbacks=[callback]).invoke([*args, *extra])
    finally:
        _close_duckdb()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if res.exception is not None:
        raise DbtError(f"dbt {' '.join(args)}: {res.exception}")
    # `build`/`run` give one result per node; `docs generate` gives the catalog, which has none
    results = list(res.result) if isinstance(getattr(res.result, "results", None), list) else []
    failed = [r for r in results if str(r.status) in ("error", "fail", "runtime error")]
    if failed or not res.success:
        why = "; ".join(f"{r.node.name}: {r.status} {(r.message or '').strip()[:300]}" for r in failed)
        raise DbtError(f"dbt {' '.join(args)} failed: {why or 'see dbt.log'}")
    return results


def _release_duckdb(wh: Warehouse) -> None:
    """DuckDB: close the pipeline's connections so dbt can open the file (one configuration per file
    per process). PostgreSQL: nothing, so a caller's advisory lock connection stays open."""
    if wh.is_duckdb:
        wh.dispose()


def _close_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB instance open in the process after an invocation; DuckDB then
    refuses the pipeline's engine (another configuration of the same file). Close it, so the file
    passes between dbt and the pipeline's engine in turn. (A private attribute of dbt-duckdb 1.11.)"""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager as manager
    except ImportError:
        return
    with manager._LOCK:
        if manager._ENV is not None:
            manager._ENV.close()
            manager._ENV = None


def _relations(results: list) -> list[str]:
    return [f"{r.node.schema}.{r.node.alias}" for r in results if r.node.resource_type == "model"]


def build_with_dbt(wh: Warehouse, sites: list[SiteConfig], *, suppression_threshold: int, local: bool = False,
                   on_node: Callable[[str, str], None] | None = None, target_path: Path | None = None,
                   command: str = "build") -> DbtRun:
    """dbt build up to the suppression step (with `local`, the local marts' all-sites tables too), the
    step (Python, one transaction), dbt build of the national tables that read it; then, with `local`,
    every trust's local_<ods> views (one transaction). `command` "run" leaves the key tests out (to
    time the models alone)."""
    env = profile_env(wh)
    vars_ = dbt_vars(wh, sites, suppression_threshold=suppression_threshold)
    run = DbtRun()
    sites = list(sites)
    _release_duckdb(wh)
    t = time.perf_counter()
    skip = [SUPPRESSED] if local else [SUPPRESSED, LOCAL]
    # --full-refresh: dbt does not know which site-months loads changed (the runner does, from
    # meta.load_batch), so its incremental models are built in full.
    results = invoke([command, "--full-refresh", "--exclude", *skip], env, vars_, on_node, target_path)
    run.seconds["dbt_before_suppression"] = time.perf_counter() - t
    t = time.perf_counter()
    step = _disclosure_model(int(suppression_threshold))
    with wh.begin() as conn:
        step.run(wh, conn, {})
    _release_duckdb(wh)
    run.seconds["suppression"] = time.perf_counter() - t
    t = time.perf_counter()
    results += invoke([command, "--full-refresh", "--select", SUPPRESSED], env, vars_, on_node, target_path)
    run.seconds["dbt_after_suppression"] = time.perf_counter() - t
    if local:
        t = time.perf_counter()
        schemas = {s.ods_code: s.schema for s in sites if s.role == "trust"}
        with wh.begin() as conn:
            publish_local_views(wh, conn, local_mart_models(), schemas)
        _release_duckdb(wh)
        run.seconds["local_views"] = time.perf_counter() - t
    run.built = _relations(results)
    run.tests = sum(1 for r in results if r.node.resource_type == "test")
    return run
