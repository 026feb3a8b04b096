"""Console output shared by commands: one Rich console for stdout, one for errors."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

# Piped output (CI logs, files) gets a wide fixed width rather than Rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def error(message: object, title: str | None = None, sep: str = ": ") -> None:
    """Print a user-facing error. The message is escaped: it carries the user's own text (a
    pattern such as `^[a-z]+$`, a file name, a value) and Rich would read brackets as markup."""
    text = escape(str(message))
    # soft_wrap: a long path must not split the one line (and the names in it) across two
    err.print(f"[red]{escape(title)}[/]{sep}{text}" if title else text, markup=True, highlight=False, soft_wrap=True)


def exit_unless_folder(path, option: str) -> None:
    """A folder option checked here, not by typer: its error box cuts a long path to the terminal's width."""
    import typer

    if path is not None and not path.is_dir():
        error(f"{path}: no such folder", option)
        raise typer.Exit(2)


def warn(message: object) -> None:
    err.print(f"[yellow]warning[/]: {escape(str(message))}", markup=True, highlight=False, soft_wrap=True)


def setup_logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    root = logging.getLogger()
    root.handlers[:] = [RichHandler(console=err, show_path=False, rich_tracebacks=False, markup=False)]
    root.setLevel(level)
    for noisy in ("great_expectations", "prefect", "httpx", "uvicorn", "alembic", "docket"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.ERROR)
    # ~200 "Skipping registering function" lines at import under -v: GX's own bookkeeping
    logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
    if verbose:
        logging.getLogger("prefect").setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Prefect API call is not progress
