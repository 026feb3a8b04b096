"""`benefits observed add|list`: benefits and disbenefits staff observed that no measure captures."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pipeline.cli import app
from pipeline.cli._console import console, error, setup_logging
from pipeline.cli.run import SitesOption, WarehouseOption

observed_app = typer.Typer(help="Observed benefits and disbenefits that no measure captures.", no_args_is_help=True)
app.add_typer(observed_app, name="observed")


@observed_app.command("add")
def add_command(
    site: Annotated[str, typer.Option("--site", help="the site (ODS code)")],
    kind: Annotated[str, typer.Option("--kind", help="benefit or disbenefit")],
    title: Annotated[str, typer.Option("--title", help="a short title")],
    narrative: Annotated[str, typer.Option("--narrative", help="what was observed, in words")],
    observed_from: Annotated[str, typer.Option("--from", help="month it was first observed, YYYY-MM")],
    who_gains: Annotated[str | None, typer.Option("--who-gains", help="patients, a staff group, the trust, the wider system")] = None,
    who_bears_cost: Annotated[str | None, typer.Option("--who-bears-cost", help="who bears the cost")] = None,
    project: Annotated[str | None, typer.Option("--project", help="project or system it is attributed to")] = None,
    by: Annotated[str | None, typer.Option("--by", help="who records it (default: the login name)")] = None,
    sites: SitesOption = None,
    warehouse: WarehouseOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Record an observed benefit or disbenefit; it appears in the site report beside the measured ones."""
    setup_logging(verbose)
    from pydantic import ValidationError

    from benefits.observed import Observation
    from pipeline.cli._preflight import open_warehouse
    from pipeline.config.sites import ConfigError
    from pipeline.marts import observed
    from pipeline.runtime import get_sites

    try:
        obs = Observation(kind=kind, title=title, narrative=narrative, project=project, who_gains=who_gains,
                          who_bears_cost=who_bears_cost, observed_from=observed_from, recorded_by=by or getpass.getuser())  # fmt: skip
    except ValidationError as e:
        first = e.errors()[0]
        option = {"observed_from": "from", "recorded_by": "by"}.get(str(first["loc"][0]), str(first["loc"][0]))
        error(f"--{option.replace('_', '-')}: {first['msg'].removeprefix('Value error, ')}")
        raise typer.Exit(2) from None
    try:
        (config,) = [s for s in get_sites(sites, [site.upper()]) if s.role == "trust"] or [None]
    except ConfigError as e:
        error(e, "configuration error")
        raise typer.Exit(2) from None
    if config is None:
        error(f"--site: {site.upper()} is not a configured trust")
        raise typer.Exit(2)
    _, wh = open_warehouse(warehouse)
    oid = observed.add(wh, config.ods_code, config.schema, obs)
    console.print(f"{config.ods_code}: recorded observed {obs.kind} {oid}: {escape(obs.title)}", highlight=False)


@observed_app.command("list")
def list_command(
    site: Annotated[str | None, typer.Option("--site", help="only this site (ODS code)")] = None,
    warehouse: WarehouseOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Observed benefits and disbenefits recorded so far."""
    setup_logging(verbose)
    from pipeline.cli._preflight import open_warehouse
    from pipeline.marts import observed

    _, wh = open_warehouse(warehouse)
    rows = observed.read(wh, site.upper() if site else None)
    if rows.empty:
        console.print("no observed benefits recorded; `benefits observed add` records one", highlight=False)
        return
    table = Table(box=None, pad_edge=False)
    for c in ("site", "id", "kind", "title", "from", "who gains", "who bears the cost", "recorded by"):
        table.add_column(c)
    for r in rows.to_dict("records"):
        table.add_row(*(escape(str(v)) if v is not None else "" for v in (
            r["site_code"], r["observation_id"], r["kind"], r["title"], str(r["observed_from"])[:7], r["who_gains"],
            r["who_bears_cost"], r["recorded_by"])))  # fmt: skip
    console.print(table, highlight=False)
