"""`benefits warehouse grant`: create and maintain the PostgreSQL roles that read the marts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli import app
from pipeline.cli._console import console, error, setup_logging, warn

warehouse_app = typer.Typer(help="Warehouse operations (roles and grants).", no_args_is_help=True)
app.add_typer(warehouse_app, name="warehouse")


SitesOption = Annotated[
    Path | None, typer.Option("--sites", help="folder of site configs (default: deploy/sites)", file_okay=False)
]
WarehouseOption = Annotated[
    str | None, typer.Option("--warehouse", help="SQLAlchemy URL of the PostgreSQL warehouse (an admin login)")
]
PrefixOption = Annotated[
    str | None, typer.Option("--prefix", help="role name prefix (default BENEFITS_ROLE_PREFIX, else the database name and _)")
]
LoginOption = Annotated[
    bool, typer.Option("--login/--no-login", help="roles can log in (else group roles to grant to users)")
]


@warehouse_app.command("grant")
def grant_command(
    sites: SitesOption = None,
    warehouse: WarehouseOption = None,
    prefix: PrefixOption = None,
    login: LoginOption = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Create or update the loader, national_reader and site_<ods>_reader roles and their privileges."""
    setup_logging(verbose)
    if warehouse:
        os.environ["BENEFITS_WAREHOUSE_URL"] = warehouse
    from pipeline.config.sites import ConfigError
    from pipeline.warehouse.grants import GrantError, grant
    from pipeline.runtime import get_sites
    from pipeline.runtime import warehouse as get_warehouse
    from pipeline.warehouse.core import redact_url

    try:
        configured = get_sites(sites)
        wh = get_warehouse()
        console.print(f"warehouse: {redact_url(wh.url)}", highlight=False)
        plan = grant(wh, configured, prefix=prefix, login=login)
    except ConfigError as e:
        error(e, "configuration error", sep="\n")
        raise typer.Exit(2) from None
    except GrantError as e:
        error(e, "cannot grant")
        raise typer.Exit(2) from None
    if plan.used_elsewhere:
        shared = sorted({db for dbs in plan.used_elsewhere.values() for db in dbs})
        warn(
            f"roles {', '.join(sorted(plan.used_elsewhere))} are also used in database(s) {', '.join(shared)} on this "
            "server (PostgreSQL roles are server-wide), so readers granted here can read there too; give each "
            "warehouse its own --prefix (or BENEFITS_ROLE_PREFIX)"
        )
    table = Table(title="Roles in force")
    table.add_column("role")
    table.add_column("can read")
    for role, schemas in plan.readable().items():
        table.add_row(role, ", ".join(schemas))
    console.print(table)
