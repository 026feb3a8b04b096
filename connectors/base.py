"""The connector base class: what a connector declares, and the one or two hooks it overrides.

A connector turns a site's local system into a *relation* (a DuckDB relation over the rows it
extracted, columns renamed to contract names where configured) plus the incremental state the
extract leaves behind. DuckDB is the in-process engine every batch passes through, so file
connectors hand over DuckDB's own parallel CSV/Parquet readers and API connectors hand over
bounded Arrow record batches; either way the whole source is never held in memory.

Writing a connector (see docs/connectors.md):

    class MyConfig(ConnectorConfig):
        url: str
        token: SecretStr = secret_field()

    class MyConnector(Connector):
        name = "my_system"
        config_model = MyConfig
        def batches(self):            # yield pyarrow.RecordBatch / pandas.DataFrame / list[dict]
            ...
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from abc import ABC
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from expectations.contracts import Contract, get_contract

LINEAGE_FILE = "_source_file"
LINEAGE_PERIOD = "_period"


class ConnectorError(RuntimeError):
    """An extract that cannot go on; the message names the source (file, URL, table)."""

    transient = False


class TransientError(ConnectorError):
    """Worth retrying: connection refused, timeout, HTTP 5xx/429."""

    transient = True


def secret_field(**kwargs) -> Any:
    """Declare a secret config field. Values may be given as `env:VAR_NAME`."""
    extra = kwargs.pop("json_schema_extra", {}) or {}
    return Field(json_schema_extra={**extra, "secret": True}, **kwargs)


def resolve_secret(value: str | SecretStr | None) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(raw, str) and raw.startswith("env:"):
        var = raw[4:]
        if var not in os.environ:
            raise ConnectorError(f"secret is configured as env:{var} but {var} is not set")
        return os.environ[var]
    return raw


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

    @classmethod
    def secret_fields(cls) -> list[str]:
        return [
            name
            for name, f in cls.model_fields.items()
            if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("secret")
        ]


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


class Connector(ABC):
    #: registry name, used as `connector:` in site configs
    name: ClassVar[str]
    #: the dataset contract produced; None means any, chosen per source in the site config
    dataset: ClassVar[str | None] = None
    #: primary key columns; default: the contract's key
    primary_key: ClassVar[tuple[str, ...] | None] = None
    #: incremental replication column, if the connector supports incremental extracts
    replication_key: ClassVar[str | None] = None
    config_model: ClassVar[type[ConnectorConfig]] = ConnectorConfig
    description: ClassVar[str] = ""

    def __init__(self, config: ConnectorConfig | dict, ctx: ExtractContext):
        if isinstance(config, dict):
            try:
                config = self.config_model.model_validate(config)
            except ValidationError as e:
                problems = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
                raise ConnectorError(f"{self.name} connector, source {ctx.source_name!r}: invalid options: {problems}") from None
        self.config = config
        self.ctx = ctx
        self.contract: Contract = get_contract(self.dataset or ctx.dataset)
        self.new_state: dict = dict(ctx.state)
        self._hash = hashlib.sha256()
        self.sources: list[str] = []
        # per source file, the columns it delivered (after renaming), for schema-drift reports
        self.file_columns: dict[str, list[str]] = {}

    # -- hooks ------------------------------------------------------------------------------
    def batches(self) -> Iterator[pa.RecordBatch | pd.DataFrame | list[dict]]:
        """Yield the extract in bounded batches. Override this (or `relation`)."""
        raise NotImplementedError(f"{type(self).__name__} must override batches() or relation()")

    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation | None:
        """The extract as a DuckDB relation, or None when there is nothing new.

        The default streams `batches()` through an Arrow reader; file-based connectors override
        it to hand DuckDB the files directly (parallel readers, no Python in the hot path).
        """
        iterator = (self._to_record_batch(b) for b in self.batches())
        first = next(iterator, None)
        if first is None:
            return None

        def chained():
            yield first
            for b in iterator:
                if b.schema != first.schema:
                    b = b.cast(first.schema) if b.schema.names == first.schema.names else pa.Table.from_batches(
                        [b]
                    ).select(first.schema.names).cast(first.schema).to_batches()[0]
                yield b

        reader = pa.RecordBatchReader.from_batches(first.schema, self._hashing(chained()))
        self._reader = reader  # keep alive while DuckDB scans it
        return con.from_arrow(reader)

    # -- helpers for subclasses ------------------------------------------------------------
    @property
    def checksum(self) -> str:
        return self._hash.hexdigest()

    def update_checksum(self, data: bytes | str) -> None:
        self._hash.update(data.encode() if isinstance(data, str) else data)

    def _hashing(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for b in batches:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, b.schema) as w:
                w.write_batch(b)
            self._hash.update(sink.getvalue().to_pybytes())
            yield b

    def _to_record_batch(self, batch: pa.RecordBatch | pd.DataFrame | list[dict]) -> pa.RecordBatch:
        if isinstance(batch, pa.RecordBatch):
            rb = batch
        elif isinstance(batch, pa.Table):
            rb = batch.combine_chunks().to_batches()[0] if batch.num_rows else pa.RecordBatch.from_pylist([])
        elif isinstance(batch, pd.DataFrame):
            rb = pa.RecordBatch.from_pandas(batch, preserve_index=False)
        else:
            rb = pa.RecordBatch.from_pylist(list(batch))
        renames = self.config.columns
        if renames:
            rb = rb.rename_columns([renames.get(n, n) for n in rb.schema.names])
        return rb

    def resolve_path(self, value: str) -> Path:
        p = Path(value).expanduser()
        if not p.is_absolute() and self.ctx.base_dir is not None:
            p = self.ctx.base_dir / p
        return p

    def describe(self) -> str:
        return f"{self.name}:{self.ctx.source_name}"

    @classmethod
    def info(cls) -> dict:
        schema = cls.config_model.model_json_schema()
        return {
            "name": cls.name,
            "dataset": cls.dataset or "(per source)",
            "description": cls.description,
            "config_fields": list(schema.get("properties", {})),
            "secret_fields": cls.config_model.secret_fields(),
            "replication_key": cls.replication_key,
        }


def state_json(state: dict) -> str:
    return json.dumps(state, sort_keys=True, default=str)
