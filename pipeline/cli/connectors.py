"""`benefits connectors list` and `benefits connectors new NAME`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli import app
from pipeline.cli._console import console, error, escape

connectors_app = typer.Typer(help="List the installed connectors, or scaffold a new one.", no_args_is_help=True)
app.add_typer(connectors_app, name="connectors")


@connectors_app.command("list")
def list_connectors(
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
):
    """Every connector (built-in and installed plug-ins): its dataset, config fields and secrets."""
    from connectors.registry import describe_all

    infos = describe_all()
    if as_json:
        console.print_json(json.dumps(infos))
        return
    table = Table(
        title="Connectors",
        caption="common options of every connector: columns, batch_size, formats, retries, backoff_seconds, "
        "timeout_seconds, max_runtime_seconds; secrets may be given as env:VAR_NAME",
        show_lines=True,
    )
    for col in ("connector", "dataset", "config fields (* required)", "secret fields", "incremental by", "description"):
        table.add_column(col, overflow="fold")
    for info in infos:
        if "error" in info:
            table.add_row(info["name"], "-", "-", "-", "-", f"[red]{escape(str(info['error']))}[/]")
            continue
        required = set(info.get("required_fields", []))
        own = info.get("own_fields", info["config_fields"])
        common = len(info["config_fields"]) - len(own)
        fields = ", ".join(f"{f}*" if f in required else f for f in own) + (f" (+{common} common)" if common else "")
        table.add_row(
            info["name"],
            info["dataset"],
            fields,
            ", ".join(info["secret_fields"]) or "-",
            info.get("incremental") or "-",
            f"{info['description']} [dim]({info['origin']})[/]",
        )
    console.print(table)


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@connectors_app.command("new")
def new_connector(
    name: Annotated[str, typer.Argument(help="connector name, lower_snake_case (e.g. rf4_datix)")],
    dataset: Annotated[str, typer.Option("--dataset", help="dataset contract the connector produces")] = (
        "patient_safety_incidents"
    ),
    directory: Annotated[Path, typer.Option("--dir", help="folder to write into", file_okay=False)] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="overwrite existing files")] = False,
):
    """Scaffold a connector module, an example config, sample data and its one-line test."""
    from connectors.scaffold import scaffold
    from dataset_contracts.contracts import CONTRACTS

    if not _NAME.match(name):
        error(f"{name!r}: use lower_snake_case (letters, digits, underscores)")
        raise typer.Exit(2)
    if dataset not in CONTRACTS:
        error(f"unknown dataset {dataset!r}; known: {', '.join(sorted(CONTRACTS))}")
        raise typer.Exit(2)
    try:
        written = scaffold(name, dataset, directory, force=force)
    except FileExistsError as e:
        error(f"{e} exists; use --force to overwrite")
        raise typer.Exit(1) from None
    for path in written:
        console.print(f"wrote {path}", highlight=False)
    console.print(
        f"\nNext: fill in batches() in {name}.py, run `{_test_command(directory / f'test_{name}.py')}`, "
        "then register it (docs/connectors.md, step 4).",
        highlight=False,
    )


def _test_command(test: Path) -> str:
    """A command that runs the scaffolded test as printed: with this interpreter (`python` on PATH
    may be another), installing pytest if the quick start did not, and without the repository's
    addopts (`-n 2` needs pytest-xdist and is for the whole suite)."""
    import importlib.util
    import shlex
    import shutil
    import sys

    on_path = shutil.which("python")
    python = "python" if on_path and Path(on_path).resolve() == Path(sys.executable).resolve() else sys.executable
    command = f"{shlex.quote(python)} -m pytest -o addopts= {shlex.quote(str(test))}"
    if importlib.util.find_spec("pytest") is None:
        command = f"{shlex.quote(python)} -m pip install pytest && {command}"
    return command
