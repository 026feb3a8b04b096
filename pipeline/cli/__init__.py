"""The `benefits` command line. One module per command group; each registers itself here."""

from __future__ import annotations

import contextlib
import gc
import os
import sys

# Quiet, local-first Prefect defaults, set before Prefect is imported anywhere. Users can override
# any of them in the environment (a deployment sets PREFECT_API_URL to its server).
for _key, _value in {
    # No telemetry unless the user asks for it: DO_NOT_TRACK stops Prefect's client telemetry (its
    # first-run notice and the marker it writes under PREFECT_HOME) and dbt's usage statistics;
    # the analytics setting stops the temporary API server's.
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "pipeline,connectors,expectations,benefits,dataset_contracts",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    # connector retries log outside a flow run; that is fine locally, not a warning
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}.items():
    os.environ.setdefault(_key, _value)

import typer  # noqa: E402

app = typer.Typer(
    name="benefits",
    help="Benefits realisation pipeline for NHS provider organisations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    debug: bool = typer.Option(False, "--debug", help="show the traceback of an unexpected error (also BENEFITS_DEBUG=1)"),
) -> None:
    if debug:
        # An environment variable, so that flows, tasks and worker subprocesses see it too.
        os.environ["BENEFITS_DEBUG"] = "1"


def _register() -> None:
    from pipeline.cli import backfill, blueprint, collect, connectors, dbt, docs, extract, observed, publish, quarantine, report, run, signals, simulate, sql, stats, submit, validate, warehouse  # noqa: F401  (modules attach their commands to `app`)


# True when this process is the `benefits` command itself (not a test calling `app`).
_owns_process = False


def freeze_heap() -> None:
    """Exempt every object alive now, mostly what the imports created, from the garbage
    collector's full passes. Python otherwise re-traverses the ~650k objects that Prefect, Great
    Expectations and pandas leave behind in each one: 1.3 s of a small run, and 2 s more at
    exit (measured). Frozen objects are never collected, so only the command's own process
    freezes; a test calling `app` does not."""
    if _owns_process:
        gc.freeze()


def _unexpected(exc: Exception) -> int:
    """An exception no command handled (click has already dealt with usage errors, exits and
    Ctrl-C): one line naming what failed and where; the traceback only with --debug."""
    from pipeline.cli._console import error

    from pipeline.config.settings import debug_enabled

    if debug_enabled():
        import traceback

        traceback.print_exception(exc)
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        where = _innermost_project_frame(exc)
        error(f"{type(exc).__name__}: {first}{where} (run again with --debug for the traceback)", "unexpected error")
    return 1


def _innermost_project_frame(exc: BaseException) -> str:
    """' at pipeline/ingest/load.py:123' for the deepest frame in this project's code, so a bug
    report from a one-line error still says where."""
    import traceback
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    last = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(root) and "site-packages" not in path.parts:
            last = f" at {path.relative_to(root)}:{frame.lineno}"
    return last


def main() -> None:
    global _owns_process
    _owns_process = True
    _register()
    from pipeline.config.settings import SettingsError

    try:
        app()
    except SettingsError as e:  # any command reading settings: one line naming the variable
        from pipeline.cli._console import error

        error(e, "setting error")
        sys.exit(2)
    except Exception as e:  # noqa: BLE001  (the one place every unhandled failure ends up)
        # A DuckDB warehouse another process took after the command's own check: one line naming
        # that process. Looked up, not imported: the module is loaded only if a warehouse was.
        lock = sys.modules.get("pipeline.warehouse.duckdb_lock")
        if lock is not None and isinstance(e, lock.WarehouseInUse):
            from pipeline.cli._console import error

            error(e, "cannot open the warehouse")
            sys.exit(2)
        sys.exit(_unexpected(e))
    finally:
        # Close the warehouse cleanly rather than leave it to the collector; a failure to close
        # must not change how the command ended.
        if "pipeline.runtime" in sys.modules:
            with contextlib.suppress(Exception):
                sys.modules["pipeline.runtime"].reset()
        freeze_heap()
