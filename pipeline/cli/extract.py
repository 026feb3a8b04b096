"""`benefits extract`: run one connector with a given config and write what it extracts.

A site developer tries a connector config without a warehouse: the output Parquet has exactly
the dataset contract's columns, typed as the pipeline would load them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli._console import console, err, error, setup_logging


def read_config(value: str) -> tuple[dict, Path | None]:
    """A JSON object given inline, or `@file` (JSON or YAML); relative paths in it resolve
    against the file's folder."""
    base = None
    text = value
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        if not path.is_file():
            raise typer.BadParameter(f"{path}: no such config file", param_hint="--config")
        text = path.read_text(encoding="utf-8")
        base = path.resolve().parent
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = _json(text, str(path))
    else:
        data = _json(text, "--config")
    if not isinstance(data, dict):
        raise typer.BadParameter("the config must be a JSON object of connector options", param_hint="--config")
    return data, base


def _json(text: str, where: str):
    try:
        return json.loads(text)
    except ValueError as e:
        raise typer.BadParameter(f"{where}: not valid JSON ({e})", param_hint="--config") from None


@app.command()
def extract(
    connector: Annotated[str, typer.Option("--connector", help="connector name (see `benefits connectors list`)")],
    config: Annotated[str, typer.Option("--config", help="connector options as JSON, or @file.json / @file.yaml")],
    output: Annotated[Path, typer.Option("--output", help="Parquet file to write (the contract's columns)")],
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="dataset contract, for connectors that serve any (files, sql, rest)")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="stop after N rows (state is then not saved)")] = None,
    state_file: Annotated[
        Path | None, typer.Option("--state-file", help="JSON incremental state: read before, written after")
    ] = None,
    site: Annotated[str | None, typer.Option("--site", help="ODS code to fill site_code with when the source has none")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Run one connector and write exactly the dataset contract's columns to a Parquet file."""
    setup_logging(verbose)
    from connectors.base import ConnectorError
    from connectors.runner import run_connector
    from connectors.state import read_state_file, write_state_file

    options, base = read_config(config)
    try:
        state = read_state_file(state_file) if state_file else {}
    except ValueError as e:
        error(e)
        raise typer.Exit(2) from None
    try:
        run = run_connector(
            connector,
            options,
            dataset=dataset,
            state=state,
            output=output,
            limit=limit,
            site_code=site,
            base_dir=base or Path.cwd(),
        )
    except ConnectorError as e:
        err.print(f"extract failed: {e}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    for w in run.warnings:
        err.print(f"warning: {w}", highlight=False, markup=False)
    if run.conform_errors:
        err.print(
            f"warning: {run.conform_errors:,} rows have values that do not convert to the contract's types "
            "(written as null; the pipeline would quarantine them)",
            highlight=False,
        )
    console.print(
        f"{run.rows:,} rows of {run.connector.contract.name} -> {output}"
        + (" (stopped at --limit)" if run.truncated else ""),
        highlight=False,
    )
    if state_file is not None:
        if run.truncated:
            console.print(f"state not saved to {state_file}: the extract stopped at --limit", highlight=False)
        else:
            write_state_file(state_file, run.new_state)
            console.print(f"state saved to {state_file}", highlight=False)
