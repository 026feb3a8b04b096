"""What every connector is given: the options all connectors accept, and the context of one extract."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from connectors.secrets import is_secret, model_secret_fields, nested_models, secret_values


class ConnectorConfig(BaseModel):
    """Options every connector accepts."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(
        default_factory=dict, description="source column name -> contract column name"
    )
    batch_size: int = Field(default=100_000, ge=1, description="rows per record batch")
    formats: dict[str, str] = Field(
        default_factory=dict, description="strptime format per date/time contract column, e.g. '%d/%m/%Y %H:%M'"
    )
    retries: int = Field(default=3, ge=0, le=20, description="retries of a transient I/O error (connection, timeout, 5xx)")
    backoff_seconds: float = Field(
        default=1.0, ge=0, description="first retry delay; doubles per retry, with random jitter"
    )
    timeout_seconds: float = Field(default=60.0, gt=0, description="timeout of one I/O operation (connect, request, fetch)")
    max_runtime_seconds: float | None = Field(
        default=None, gt=0, description="give up (transient) when the whole extract takes longer than this"
    )

    @classmethod
    def secret_fields(cls, prefix: str = "") -> list[str]:
        """Dotted names of the secret fields, nested models included (e.g. `auth.token`)."""
        names = []
        for name, info in cls.model_fields.items():
            if is_secret(info):
                names.append(prefix + name)
            for model in nested_models(info.annotation):
                if issubclass(model, ConnectorConfig) or hasattr(model, "secret_fields"):
                    names.extend(model.secret_fields(prefix=f"{prefix}{name}."))
                else:
                    names.extend(model_secret_fields(model, f"{prefix}{name}."))
        return sorted(set(names))

    def secret_values(self) -> set[str]:
        """The real values of every secret in this config (env: references resolved when set)."""
        return secret_values(self)


@dataclass
class ExtractContext:
    site_code: str
    dataset: str
    source_name: str
    state: dict = field(default_factory=dict)
    base_dir: Path | None = None  # config file folder: relative paths resolve against it
    work_dir: Path | None = None  # scratch space for this extract
    # Backfill: re-extract exactly these reporting months (first, last inclusive), ignoring the
    # incremental state for them. None = a normal incremental extract.
    period: tuple[dt.date, dt.date] | None = None
    # Stop after this many rows (trying a config out); a truncated extract never advances state.
    limit: int | None = None
    # Re-extract everything already loaded that is still there (every file, whatever its state):
    # the configuration that shapes its rows changed. Only connectors with `reprocesses` honour it.
    reprocess: bool = False
