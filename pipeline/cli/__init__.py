"""The `benefits` command line. One module per command group; each registers itself here."""

from __future__ import annotations

import os

# Quiet, local-first Prefect defaults, set before Prefect is imported anywhere. Users can override
# any of them in the environment (a deployment sets PREFECT_API_URL to its server).
for _key, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "pipeline,connectors,expectations,benefits",
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


def _register() -> None:
    from pipeline.cli import backfill, connectors, docs, extract, quarantine, report, run, simulate, stats, validate, warehouse  # noqa: F401  (modules attach their commands to `app`)


def main() -> None:
    _register()
    app()
