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
    from pipeline.cli import run, simulate  # noqa: F401  (modules attach their commands to `app`)


def main() -> None:
    _register()
    app()
