"""`benefits docs`: regenerate the data dictionary (docs/data-dictionary.md) from the model headers,
the dataset contracts reference (docs/contracts.md) from the contract definitions, and the per-site
schedules of deploy/prefect.yaml from deploy/sites/ and the dataset tables of dbt's sources
(sql/models/sources.yml) from the contracts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli._console import console, error, setup_logging


@app.command()
def docs(
    output: Annotated[
        Path | None,
        typer.Option("--output", help="write only the data dictionary, here (default: both files under docs/)"),
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="write nothing; exit 1 when a file is out of date")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Generate the data dictionary (SQL headers, measures, mart specs), the contracts reference, the
    per-site schedules of deploy/prefect.yaml and the dataset tables of dbt's sources."""
    setup_logging(verbose)
    from expectations import contracts_doc
    from pipeline.marts.dictionary import DEFAULT_OUTPUT, DictionaryError, generate
    from pipeline.config import schedules
    from pipeline.config.sites import ConfigError
    from pipeline.marts import dbt_sources
    from pipeline.marts.build import MeasureError, local_sql_dir

    try:
        files = [(output or DEFAULT_OUTPUT, generate(local_sql_dir()))]
        if output is None:
            files.append((contracts_doc.DEFAULT_OUTPUT, contracts_doc.generate()))
            files.append((schedules.PREFECT_YAML, schedules.generate()))
            files.append((dbt_sources.sources_yml(), dbt_sources.generate()))
    except (DictionaryError, MeasureError, ConfigError) as e:
        error(e, "cannot generate the documentation", sep="\n")
        raise typer.Exit(2) from None
    stale = False
    for path, text in files:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            console.print(f"{path} is up to date", highlight=False)
        elif check:
            error(f"{path} is out of date: run `benefits docs`")
            stale = True
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            console.print(f"wrote {path}", highlight=False)
    if stale:
        raise typer.Exit(1)
