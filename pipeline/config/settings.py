"""Where things live: the working directory, the warehouse URL and the folders under it.

Everything comes from the environment so the same code runs on a laptop (embedded DuckDB
under ./warehouse) and on Prefect workers (PostgreSQL, shared landing storage).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SITES_DIR = PROJECT_ROOT / "deploy" / "sites"


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str
    suppression_threshold: int = 7
    duckdb_memory: str = "1GB"

    @property
    def landing_dir(self) -> Path:
        return self.home / "landing"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def data_docs_dir(self) -> Path:
        return self.home / "data_docs"


def debug_enabled() -> bool:
    """`benefits --debug ...` (or BENEFITS_DEBUG=1): tracebacks instead of one-line errors."""
    return os.environ.get("BENEFITS_DEBUG", "").lower() in ("1", "true", "yes")


def benefits_home() -> Path:
    return Path(os.environ.get("BENEFITS_HOME", "warehouse")).expanduser().resolve()


class SettingsError(ValueError):
    """An environment variable that cannot be used; the message names it."""


def _int_variable(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise SettingsError(f"{name}={text!r} is not a whole number (default {default})") from None


def alert_timeout_seconds() -> float:
    """Seconds per webhook attempt (connect and read); checked with the other settings so a typo
    is named before the run, not met as a traceback when the first alert is sent."""
    text = os.environ.get("BENEFITS_ALERT_TIMEOUT_SECONDS", "").strip()
    if not text:
        return 3.0
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 3600:
        raise SettingsError(f"BENEFITS_ALERT_TIMEOUT_SECONDS={text!r} is not a number of seconds (default 3)")
    return seconds


def load_settings() -> Settings:
    home = benefits_home()
    url = os.environ.get("BENEFITS_WAREHOUSE_URL") or f"duckdb:///{home / 'benefits.duckdb'}"
    threshold = _int_variable("BENEFITS_SUPPRESSION_THRESHOLD", 7)
    if threshold < 0:  # read as "suppress nothing", which publishes every small count
        raise SettingsError(f"BENEFITS_SUPPRESSION_THRESHOLD={threshold} is below 0 (default 7; 0 suppresses nothing)")
    memory = os.environ.get("BENEFITS_DUCKDB_MEMORY", "1GB")
    return Settings(home=home, warehouse_url=url, suppression_threshold=threshold, duckdb_memory=memory)
