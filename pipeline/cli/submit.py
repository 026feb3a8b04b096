"""`benefits keys init|show` and `benefits submit`: a trust's side of federated national reporting."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pipeline.cli import app
from pipeline.cli._console import console, error, setup_logging
from pipeline.cli.run import SitesOption, WarehouseOption

keys_app = typer.Typer(help="The site's Ed25519 key that signs its national submissions.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

SiteOption = Annotated[str, typer.Option("--site", help="the trust's ODS code")]


def _home():
    from pipeline.config.settings import benefits_home

    return benefits_home()


@keys_app.command("init")
def keys_init(
    site: SiteOption,
    rotate: Annotated[bool, typer.Option("--rotate", help="replace an existing key; the old one is kept beside it")] = False,
):
    """Make the site's signing key under $BENEFITS_HOME/keys/ and print the public key to register
    nationally. The private key is never printed."""
    from pipeline.federation.keys import KeyProblem, init_key, private_path

    try:
        public = init_key(_home(), site.upper(), rotate=rotate)
    except KeyProblem as e:
        error(e, "key error")
        raise typer.Exit(2) from None
    console.print(f"{site.upper()} {public}", highlight=False, soft_wrap=True)
    console.print(
        f"private key: {escape(str(private_path(_home(), site.upper())))} (owner-only; keep it, never send it). "
        "Register the line above with the national collector.",
        highlight=False,
        soft_wrap=True,
    )


@keys_app.command("show")
def keys_show(site: SiteOption):
    """Print the site's public key line, as the national registry holds it."""
    from pipeline.federation.keys import KeyProblem, load_private, public_text

    try:
        key = load_private(_home(), site.upper())
    except KeyProblem as e:
        error(e, "key error")
        raise typer.Exit(2) from None
    console.print(f"{site.upper()} {public_text(key.public_key())}", highlight=False, soft_wrap=True)


def _status(url: str, site: str) -> None:
    from pipeline.federation.submit import receipts, shown

    found = receipts(url, site)
    if not found:
        console.print(f"no receipts for {escape(site)} at {escape(shown(url))} yet", highlight=False)
        return
    table = Table(box=None, pad_edge=False)
    for c in ("package", "status", "received", "reasons"):
        table.add_column(c)
    for r in found:
        colour = "green" if r.status == "accepted" else "red"
        reasons = "; ".join(r.reasons) or ("replaces " + ", ".join(r.replaces) if r.replaces else "")
        table.add_row(escape(r.package), f"[{colour}]{escape(r.status)}[/]", escape(r.received_at), escape(reasons))
    console.print(table)


@app.command()
def submit(
    site: SiteOption,
    to: Annotated[str, typer.Option("--to", help="where packages go: a folder, or s3://bucket (optionally /prefix)")],
    first: Annotated[str | None, typer.Option("--from", help="first month, YYYY-MM (default: the earliest with data)")] = None,
    last: Annotated[str | None, typer.Option("--to-month", help="last month, YYYY-MM (default: the latest with data)")] = None,
    status: Annotated[bool, typer.Option("--status", help="show the collector's receipts for the site instead")] = False,
    sites: SitesOption = None,
    warehouse: WarehouseOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Send the site's national figures as one signed package to URL/inbox/: its disclosure-controlled
    measure rows, national-scope benefit rows and a data-quality summary. Object storage
    credentials come from the standard AWS_* variables."""
    setup_logging(verbose)
    code = site.upper()
    from pipeline.federation.submit import SubmitError, parse_month, shown

    if status:
        try:
            _status(to, code)
        except (OSError, ValueError) as e:
            error(f"{shown(to)}: {e}", "cannot read receipts")
            raise typer.Exit(1) from None
        return

    from pipeline.config.sites import ConfigError
    from pipeline.federation.keys import KeyProblem, load_private
    from pipeline.runtime import get_sites

    try:
        months = (parse_month(first, "--from") if first else None, parse_month(last, "--to-month") if last else None)
        config = get_sites(sites, [code])[0]
        key = load_private(_home(), code)
    except (SubmitError, ConfigError, KeyProblem) as e:
        error(e)
        raise typer.Exit(2) from None

    from pipeline.cli._preflight import open_warehouse
    from pipeline.federation.submit import submit as send

    settings, wh = open_warehouse(warehouse)
    try:
        done = send(wh, config, to, key, threshold=settings.suppression_threshold, first=months[0], last=months[1])
    except SubmitError as e:
        error(e, "cannot submit")
        raise typer.Exit(1) from None
    except OSError as e:
        error(f"{shown(to)}: {e}", "cannot write the package")
        raise typer.Exit(1) from None
    m = done.manifest
    console.print(f"submitted {escape(done.name)} ({m.first_month} to {m.last_month}) to {escape(done.url)}", highlight=False)
    table = Table(box=None, pad_edge=False)
    for c, justify in (("file", "left"), ("rows", "right"), ("bytes", "right"), ("sha256", "left")):
        table.add_column(c, justify=justify)
    for f in m.files:
        table.add_row(f.name, f"{f.rows:,}", f"{f.bytes:,}", f.sha256[:12])
    console.print(table)
