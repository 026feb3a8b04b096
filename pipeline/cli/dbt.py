"""`benefits dbt vars|build`: the SQL layer through dbt instead of the runner (pipeline/marts/dbt.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli._console import console, error, setup_logging

dbt_app = typer.Typer(help="Build sql/ (a dbt project) with dbt, or print the --vars a plain `dbt build` needs.",
                      no_args_is_help=True)  # fmt: skip
app.add_typer(dbt_app, name="dbt")

SitesOption = Annotated[Path | None, typer.Option("--sites", help="folder of site configs (default: deploy/sites)")]


def _open(sites_dir: Path | None):
    from pipeline.config.settings import DEFAULT_SITES_DIR, load_settings
    from pipeline.config.sites import load_sites
    from pipeline.warehouse.core import Warehouse

    settings = load_settings()
    sites = load_sites(sites_dir or Path(os.environ.get("BENEFITS_SITES_DIR") or DEFAULT_SITES_DIR))
    return settings, sites, Warehouse(settings.warehouse_url, settings.duckdb_memory)


@dbt_app.command("vars")
def vars_command(sites: SitesOption = None):
    """Print the vars as JSON: `cd sql && dbt build --vars "$(benefits dbt vars)"`."""
    from pipeline.marts.dbt import dbt_vars

    settings, configs, wh = _open(sites)
    try:
        # Plain stdout, not the console: the output is data for dbt's command line, not for a reader.
        typer.echo(json.dumps(dbt_vars(wh, configs, suppression_threshold=settings.suppression_threshold)))
    finally:
        wh.dispose()


@dbt_app.command("build")
def build_command(
    sites: SitesOption = None,
    local: Annotated[bool, typer.Option("--local", help="also the local marts (once over all sites, then each site's views)")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Staging, measures, suppression and the national mart (and with --local the local marts), by dbt."""
    setup_logging(verbose)
    from pipeline.marts.dbt import DbtError, build_with_dbt
    from pipeline.warehouse.locks import staging_snapshot_lock

    settings, configs, wh = _open(sites)
    try:
        with staging_snapshot_lock(wh):  # as build-marts: loads wait, PostgreSQL advisory lock held throughout
            run = build_with_dbt(wh, configs, suppression_threshold=settings.suppression_threshold, local=local,
                                 on_node=lambda name, status: console.print(f"{status:>8} {name}", highlight=False))  # fmt: skip
    except DbtError as e:
        error(e, "dbt build failed")
        raise typer.Exit(1) from None
    finally:
        wh.dispose()
    console.print(f"{len(run.built)} models, {run.tests} tests; "
                  + ", ".join(f"{k} {v:.1f} s" for k, v in run.seconds.items()), highlight=False)  # fmt: skip
