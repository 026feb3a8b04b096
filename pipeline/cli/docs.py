"""`benefits docs`: regenerate the data dictionary (docs/data-dictionary.md) from the model headers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli._console import console, error, setup_logging


@app.command()
def docs(
    output: Annotated[Path | None, typer.Option("--output", help="where to write (default docs/data-dictionary.md)")] = None,
    check: Annotated[bool, typer.Option("--check", help="write nothing; exit 1 when the file is out of date")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Generate the data dictionary from the SQL headers, measure definitions and mart table specs."""
    setup_logging(verbose)
    from pipeline.marts.dictionary import DEFAULT_OUTPUT, DictionaryError, generate
    from pipeline.marts.build import MeasureError, local_sql_dir

    path = output or DEFAULT_OUTPUT
    try:
        text = generate(local_sql_dir())
    except (DictionaryError, MeasureError) as e:
        error(e, "cannot generate the data dictionary", sep="\n")
        raise typer.Exit(2) from None
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if check:
        if current != text:
            error(f"{path} is out of date: run `benefits docs`")
            raise typer.Exit(1)
        console.print(f"{path} is up to date", highlight=False)
        return
    if current == text:
        console.print(f"{path} is up to date", highlight=False)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    console.print(f"wrote {path}", highlight=False)
