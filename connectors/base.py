"""The connector base class: what a connector declares, and the one or two hooks it overrides.

A connector turns a site's local system into a *relation* (a DuckDB relation over the rows it
extracted, columns renamed to contract names where configured) plus the incremental state the
extract leaves behind. The base class runs the extraction loop: it pulls the connector's
bounded batches, renames and normalises them, keeps only rows past the replication watermark,
spools them to Parquet parts in scratch space (so neither the source nor DuckDB ever holds
the whole extract in memory), retries transient I/O with backoff and jitter, enforces
timeouts, and turns every failure into a `ConnectorError` that names the source and never
carries a secret.

Writing a connector (see docs/connectors.md):

    class MyConfig(ConnectorConfig):
        url: str = Field(description="API base URL")
        token: SecretStr = secret_field(description="API token (or env:VAR_NAME)")

    class MyConnector(Connector):
        name = "my_system"
        dataset = "patient_safety_incidents"
        replication_key = "updated_at"
        config_model = MyConfig

        def batches(self):            # yield pyarrow.RecordBatch / pandas.DataFrame / list[dict]
            since = self.start_value  # the watermark of the last successful load, or None
            for page in self.call(fetch_pages, self.config.url, since, what="fetch incidents"):
                yield page

File connectors override `open_relation()` instead and hand DuckDB the files themselves.
"""

from __future__ import annotations

import datetime as dt
import decimal
import errno
import hashlib
import json
import logging
import os
import random
import shutil
import socket
import time
import uuid
from abc import ABC
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from dataset_contracts.contracts import Contract, get_contract
from dataset_contracts.lineage import LINEAGE_FILE, LINEAGE_PERIOD  # noqa: F401  (part of the connector API)
from dataset_contracts.sql import sql_literal

log = logging.getLogger(__name__)

REDACTED = "***"

T = TypeVar("T")


class ConnectorError(RuntimeError):
    """An extract that cannot go on; the message names the source (file, URL, table).

    A plain ConnectorError is permanent (bad data, bad config, refused credentials): the batch
    is held for a person and retrying would not help.
    """

    transient = False

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.retried = False  # set when the base class already spent its retries on it


class TransientError(ConnectorError):
    """Worth retrying: connection refused, timeout, HTTP 5xx/429, a dropped connection."""

    transient = True


def secret_field(**kwargs) -> Any:
    """Declare a secret config field. Values may be given as `env:VAR_NAME`."""
    extra = kwargs.pop("json_schema_extra", {}) or {}
    return Field(json_schema_extra={**extra, "secret": True}, **kwargs)


def resolve_secret(value: str | SecretStr | None) -> str | None:
    """The secret's real value: `env:VAR_NAME` reads the environment variable."""
    if value is None:
        return None
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(raw, str) and raw.startswith("env:"):
        var = raw[4:]
        if var not in os.environ:
            raise ConnectorError(f"a secret is configured as env:{var} but {var} is not set")
        return os.environ[var]
    return raw


def _is_secret(info) -> bool:
    extra = info.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("secret"))


def _nested_models(annotation) -> list[type[BaseModel]]:
    """Pydantic models inside a field's type (Optional[X], X | Y, list[X])."""
    found = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_nested_models(arg))
    return found


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
            if _is_secret(info):
                names.append(prefix + name)
            for model in _nested_models(info.annotation):
                if issubclass(model, ConnectorConfig) or hasattr(model, "secret_fields"):
                    names.extend(model.secret_fields(prefix=f"{prefix}{name}."))
                else:
                    names.extend(_model_secret_fields(model, f"{prefix}{name}."))
        return sorted(set(names))

    def secret_values(self) -> set[str]:
        """The real values of every secret in this config (env: references resolved when set)."""
        return _secret_values(self)


def _model_secret_fields(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, info in model.model_fields.items():
        if _is_secret(info):
            names.append(prefix + name)
        for sub in _nested_models(info.annotation):
            names.extend(_model_secret_fields(sub, f"{prefix}{name}."))
    return names


def _secret_values(model: BaseModel) -> set[str]:
    values: set[str] = set()
    for name, info in type(model).model_fields.items():
        value = getattr(model, name, None)
        if value is None:
            continue
        if _is_secret(info) or isinstance(value, SecretStr):
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if isinstance(raw, str) and raw:
                values.add(raw)
                if raw.startswith("env:") and os.environ.get(raw[4:]):
                    values.add(os.environ[raw[4:]])
        if isinstance(value, BaseModel):
            values |= _secret_values(value)
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, BaseModel):
                    values |= _secret_values(item)
    # "env:NAME" itself is not secret; only what it points to is.
    return {v for v in values if not v.startswith("env:") and len(v) >= 4}


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


# -- errors --------------------------------------------------------------------------------
_TRANSIENT_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.EPIPE,
    errno.EAGAIN,
    errno.EIO,
    errno.ESTALE,
}


def classify_common(exc: BaseException, where: str) -> ConnectorError | None:
    """Errors every connector meets: network and OS errors. None when not recognised."""
    if isinstance(exc, ConnectorError):
        return exc
    try:
        import requests

        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return TransientError(f"{where}: timed out connecting")
        if isinstance(exc, requests.exceptions.Timeout):
            return TransientError(f"{where}: timed out waiting for a response")
        if isinstance(exc, requests.exceptions.ConnectionError):
            reason = "connection refused" if "refused" in str(exc).lower() else "connection failed"
            return TransientError(f"{where}: {reason} ({_short(exc)})")
    except ImportError:  # pragma: no cover - requests is a dependency
        pass
    if isinstance(exc, socket.timeout | TimeoutError):
        return TransientError(f"{where}: timed out")
    if isinstance(exc, ConnectionRefusedError):
        return TransientError(f"{where}: connection refused")
    if isinstance(exc, ConnectionError):
        return TransientError(f"{where}: connection lost ({_short(exc)})")
    if isinstance(exc, FileNotFoundError):
        return ConnectorError(f"{where}: no such file {Path(exc.filename).name if exc.filename else ''}".rstrip())
    if isinstance(exc, PermissionError):
        return ConnectorError(f"{where}: permission denied{' on ' + str(exc.filename) if exc.filename else ''}")
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return TransientError(f"{where}: {exc.strerror or exc}")
    return None


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:limit]


def redact(text: str, secrets: Iterable[str]) -> str:
    for s in sorted(secrets, key=len, reverse=True):
        if s:
            text = text.replace(s, REDACTED)
    return text


# -- batches -------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _column_array(values: list) -> pa.Array:
    """An Arrow array from Python values; a column of mixed types becomes text (nulls kept)."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        return pa.array(
            [None if v is None else (json.dumps(v, default=str) if isinstance(v, dict | list) else str(v)) for v in values],
            pa.string(),
        )


def records_to_batch(records: list[dict]) -> pa.RecordBatch:
    """Rows as dicts -> one record batch; keys missing from a row are null."""
    names: dict[str, None] = {}
    for r in records:
        for k in r:
            names.setdefault(k, None)
    arrays = [_column_array([r.get(n) for r in records]) for n in names]
    return pa.RecordBatch.from_arrays(arrays, names=list(names)) if names else pa.RecordBatch.from_pylist([])


def frame_to_batch(frame: pd.DataFrame) -> pa.RecordBatch:
    try:
        return pa.RecordBatch.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arrays = [_column_array(frame[c].where(frame[c].notna(), None).tolist()) for c in frame.columns]
        return pa.RecordBatch.from_arrays(arrays, names=[str(c) for c in frame.columns])


def normalise_batch(rb: pa.RecordBatch) -> pa.RecordBatch:
    """Types that Parquet/DuckDB take badly: all-null columns become text, dictionaries decode."""
    fields, arrays, changed = [], [], False
    for f, a in zip(rb.schema, rb.columns):
        if pa.types.is_null(f.type):
            a, f, changed = pa.nulls(len(a), pa.string()), pa.field(f.name, pa.string()), True
        elif pa.types.is_dictionary(f.type):
            a = a.dictionary_decode()
            f, changed = pa.field(f.name, a.type), True
        elif pa.types.is_large_string(f.type):
            a, f, changed = a.cast(pa.string()), pa.field(f.name, pa.string()), True
        fields.append(f)
        arrays.append(a)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields)) if changed else rb


class Spool:
    """Record batches written to Parquet parts; a new part whenever the schema changes.

    DuckDB reads the parts back with union_by_name, so batches whose columns or types differ
    (a column that is all null in one page and text in the next) come out as one relation.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.parts: list[Path] = []
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, rb: pa.RecordBatch) -> None:
        if self._writer is None or rb.schema != self._schema:
            self._close_writer()
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"part-{len(self.parts):05d}.parquet"
            # Scratch files read once, soon: plain encoding writes ~3x faster than dictionary+snappy.
            self._writer = pq.ParquetWriter(
                path, rb.schema, compression="none", use_dictionary=False, write_statistics=False
            )
            self._schema = rb.schema
            self.parts.append(path)
        self._writer.write_batch(rb)
        self.rows += rb.num_rows

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> list[Path]:
        self._close_writer()
        return self.parts

    def discard(self) -> None:
        self._close_writer()
        for p in self.parts:
            p.unlink(missing_ok=True)
        self.parts, self.rows, self._schema = [], 0, None


def _month_end(d: dt.date) -> dt.date:
    nxt = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


class Connector(ABC):
    #: registry name, used as `connector:` in site configs
    name: ClassVar[str]
    #: the dataset contract produced; None means any, chosen per source in the site config
    dataset: ClassVar[str | None] = None
    #: a contract of the connector's own, for outputs that are not a staging dataset (ODS)
    contract_spec: ClassVar[Contract | None] = None
    #: primary key columns; default: the contract's key
    primary_key: ClassVar[tuple[str, ...] | None] = None
    #: incremental replication column (source name); a config field `replication_key` overrides it
    replication_key: ClassVar[str | None] = None
    config_model: ClassVar[type[ConnectorConfig]] = ConnectorConfig
    description: ClassVar[str] = ""
    #: True when the connector selects a backfill's months itself; otherwise the base filters rows
    handles_period: ClassVar[bool] = False
    #: how a second run knows what is new, for `benefits connectors list` (default: the replication key)
    incremental_by: ClassVar[str | None] = None
    #: True when the connector can re-extract all it loaded before (files it still has), so a
    #: change to the configuration that shapes its rows is applied to history (ctx.reprocess)
    reprocesses: ClassVar[bool] = False
    #: options that say where or how to fetch, not what a row becomes: changing them does not
    #: make loaded rows stale (pipeline/ingest/config_hash.py). Secret options are never hashed.
    fetch_options: ClassVar[frozenset[str]] = frozenset(
        {"batch_size", "retries", "backoff_seconds", "timeout_seconds", "max_runtime_seconds"}
    )

    def __init__(self, config: ConnectorConfig | dict, ctx: ExtractContext):
        self.ctx = ctx
        if isinstance(config, dict):
            try:
                config = self.config_model.model_validate(config)
            except ValidationError as e:
                problems = "; ".join(
                    f"{'.'.join(map(str, x['loc'])) or '(top level)'}: {x['msg']}" for x in e.errors()
                )
                secrets = _raw_secret_strings(config)
                raise ConnectorError(
                    redact(f"{self.name} connector, source {ctx.source_name!r}: invalid options: {problems}", secrets)
                ) from None
        self.config = config
        self.contract: Contract = self.contract_spec or get_contract(self.dataset or ctx.dataset)
        self.new_state: dict = dict(ctx.state)
        self._hash = hashlib.sha256()
        self.sources: list[str] = []
        # per source file, the columns it delivered (after renaming), for schema-drift reports
        self.file_columns: dict[str, list[str]] = {}
        # files of the extract that held no rows (named in a warning; an all-empty batch loads 0 rows)
        self.empty_files: list[str] = []
        self.retries_done = 0
        self.io_calls = 0
        self.rows_extracted = 0
        self.truncated = False
        self._secrets: set[str] = set(self.config.secret_values())
        self._scratch_dirs: list[Path] = []
        self._started = time.monotonic()
        self._max_value: Any = None
        self._faults: list[BaseException] = []  # test kit: errors to raise at the next I/O calls

    # -- what a connector declares -----------------------------------------------------------
    @property
    def key_columns(self) -> tuple[str, ...]:
        return self.primary_key or tuple(c.strip() for c in self.contract.key.split(","))

    @property
    def replication_column(self) -> str | None:
        """The replication key as a source column name (config overrides the class)."""
        return getattr(self.config, "replication_key", None) or type(self).replication_key

    @property
    def incremental(self) -> bool:
        """Whether a second run after a full one extracts only what is new."""
        return self.replication_column is not None

    @property
    def load_mode(self) -> str:
        """How the loader should apply this batch.

        `replace_months`: the batch is the whole of the months it covers (a file, a full or
        backfill extract), so it replaces what those months held. `merge_by_key`: the batch
        holds only rows new or changed since the watermark, so it replaces rows with the same
        primary key and leaves the rest of their months alone.
        """
        if self.replication_column and self.start_value is not None:
            return "merge_by_key"
        return "replace_months"

    # -- hooks ------------------------------------------------------------------------------
    def batches(self) -> Iterator[pa.RecordBatch | pa.Table | pd.DataFrame | list[dict]]:
        """Yield the extract in bounded batches. Override this (or `open_relation`)."""
        raise NotImplementedError(f"{type(self).__name__} must override batches() or open_relation()")

    def open_relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation | None:
        """The extract as a DuckDB relation, or None when there is nothing new.

        The default runs `batches()` through the extraction loop and spools the result to
        Parquet parts; file connectors override it to hand DuckDB the files directly.
        """
        spool = self._extract_to_spool()
        if spool is None:
            return None
        rel = con.read_parquet([str(p) for p in spool.parts], union_by_name=True)
        if LINEAGE_FILE not in rel.columns:
            rel = rel.project(f"*, {sql_literal(self.source_label())} as {LINEAGE_FILE}")
        if self.ctx.period is not None and not self.handles_period:
            rel = self._period_filter(rel)
        return rel

    def classify(self, exc: BaseException) -> ConnectorError | None:
        """Map a library exception to ConnectorError (permanent) or TransientError; None = unknown.

        Override to recognise your client library's errors (auth failures are permanent).
        """
        return classify_common(exc, self.source_label())

    def source_label(self) -> str:
        """Where the data comes from, for messages and lineage (never with a secret)."""
        return self.ctx.source_name

    # -- the one entry point the pipeline calls ---------------------------------------------
    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation | None:
        """Run the extract; errors come out as ConnectorError/TransientError naming the source."""
        self._started = time.monotonic()
        try:
            return self.open_relation(con)
        except Exception as exc:  # noqa: BLE001 - every failure leaves here named and redacted
            raise self.as_connector_error(exc) from None

    def as_connector_error(self, exc: BaseException) -> ConnectorError:
        err = exc if isinstance(exc, ConnectorError) else self.classify(exc)
        if err is None:
            err = ConnectorError(f"{type(exc).__name__}: {_short(exc, 1000)}")
        message = str(err)
        label = self.describe()
        if not message.startswith(label):
            message = f"{label}: {message}"
        err.args = (self.redact(message),)
        err.__cause__ = None
        err.__suppress_context__ = True
        return err

    # -- helpers for subclasses --------------------------------------------------------------
    def call(self, fn: Callable[..., T], *args, what: str = "", **kwargs) -> T:
        """Run one I/O operation with retries: transient errors back off (doubling, jittered)
        and honour a server's Retry-After; permanent errors surface at once."""
        attempts = self.config.retries + 1
        for attempt in range(1, attempts + 1):
            self._check_deadline()
            self.io_calls += 1
            try:
                if self._faults:
                    raise self._faults.pop(0)
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001
                err = self.classify(exc) or ConnectorError(f"{type(exc).__name__}: {_short(exc, 1000)}")
                if not err.transient:
                    raise err from None
                if attempt == attempts:
                    err.retried = True
                    if self.config.retries:
                        err.args = (f"{err} (gave up after {attempts} attempts)",)
                    raise err from None
                delay = self._delay(attempt, err)
                self.retries_done += 1
                log.warning(
                    "%s: %s%s; retrying in %.1f s (attempt %d of %d)",
                    self.describe(),
                    f"{what}: " if what else "",
                    self.redact(str(err)),
                    delay,
                    attempt + 1,
                    attempts,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, attempt: int, err: ConnectorError) -> float:
        if err.retry_after is not None:
            return max(0.0, min(float(err.retry_after), 300.0))
        base = self.config.backoff_seconds * (2 ** (attempt - 1))
        base = min(base, 60.0)
        return base / 2 + random.uniform(0, base / 2)

    def _check_deadline(self) -> None:
        limit = self.config.max_runtime_seconds
        if limit is not None and time.monotonic() - self._started > limit:
            err = TransientError(f"{self.source_label()}: the extract took longer than {limit:g} s")
            err.retried = True  # out of time: no retry within this run
            raise err

    @property
    def state(self) -> dict:
        """The incremental state to extract from; empty during a backfill (re-extract all)."""
        return {} if self.ctx.period is not None else self.ctx.state

    @property
    def start_value(self) -> Any:
        """The replication watermark: rows with a greater replication key are new."""
        st = self.state
        if not self.replication_column or st.get("replication_key") != self.replication_column:
            return None
        return st.get("replication_key_value")

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def add_secret(self, value: str | None) -> None:
        """A secret learnt at run time (an OAuth access token) is redacted like configured ones."""
        if value and len(value) >= 4:
            self._secrets.add(value)

    @property
    def checksum(self) -> str:
        return self._hash.hexdigest()

    def update_checksum(self, data: bytes | str) -> None:
        self._hash.update(data.encode() if isinstance(data, str) else data)

    def resolve_path(self, value: str) -> Path:
        p = Path(value).expanduser()
        if not p.is_absolute() and self.ctx.base_dir is not None:
            p = self.ctx.base_dir / p
        return p

    def scratch(self, prefix: str) -> Path:
        """A fresh folder for this extract, removed by `close()`."""
        root = self.ctx.work_dir
        if root is None:
            import tempfile

            root = Path(tempfile.gettempdir()) / "benefits-connectors"
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale(root, prefix)
        path = root / f"{prefix}-{uuid.uuid4().hex[:12]}"
        path.mkdir()
        self._scratch_dirs.append(path)
        return path

    def close(self) -> None:
        """Remove scratch files; call once DuckDB has finished reading the relation."""
        for d in self._scratch_dirs:
            shutil.rmtree(d, ignore_errors=True)
        self._scratch_dirs.clear()

    def describe(self) -> str:
        return f"{self.name}:{self.ctx.source_name}"

    def diagnose(self, exc: BaseException) -> ConnectorError | None:
        """A precise reason for an error DuckDB raised while reading this extract, when the
        connector can find one (the files connector re-reads a file DuckDB found bad bytes in,
        for the exact line and a hint); None leaves DuckDB's own message."""
        return None

    def malformed_lines(self, con: duckdb.DuckDBPyConnection) -> list:
        """Lines of the extract that could not be read as rows (dataset_contracts.malformed
        .MalformedLine), asked once the relation has been read; they are quarantined, not dropped.
        Only connectors that read text files find any."""
        return []

    @classmethod
    def info(cls) -> dict:
        schema = cls.config_model.model_json_schema()
        fields = cls.config_model.model_fields
        if cls.incremental_by:
            incremental = cls.incremental_by
        elif cls.replication_key:
            incremental = f"replication key {cls.replication_key}"
        elif "replication_key" in fields:
            incremental = "replication_key option"
        else:
            incremental = None
        return {
            "name": cls.name,
            "own_fields": [f for f in fields if f not in ConnectorConfig.model_fields],
            "incremental": incremental,
            "dataset": cls.dataset or "(per source)",
            "description": cls.description,
            "config_fields": list(schema.get("properties", {})),
            "required_fields": list(schema.get("required", [])),
            "secret_fields": cls.config_model.secret_fields(),
            "replication_key": cls.replication_key,
            "primary_key": list(cls.primary_key) if cls.primary_key else None,
        }

    # -- the extraction loop -----------------------------------------------------------------
    def _extract_to_spool(self) -> Spool | None:
        attempts = self.config.retries + 1
        spool = Spool(self.scratch("spool"))
        for attempt in range(1, attempts + 1):
            self._max_value = None
            self.truncated = False
            try:
                self._fill(spool)
                break
            except TransientError as err:
                # A failure mid-stream that no single call could retry (a dropped cursor):
                # start the pass again from scratch, unless the call layer already gave up.
                spool.discard()
                if err.retried or attempt == attempts:
                    raise
                delay = self._delay(attempt, err)
                self.retries_done += 1
                log.warning("%s: %s; restarting the extract in %.1f s", self.describe(), self.redact(str(err)), delay)
                time.sleep(delay)
            except BaseException:
                spool.discard()
                raise
        parts = spool.close()
        self.rows_extracted = spool.rows
        if not parts:
            return None
        for p in parts:
            with open(p, "rb") as f:
                while chunk := f.read(1 << 20):
                    self._hash.update(chunk)
        self.sources = [self.source_label()]
        self._finish_state()
        return spool

    def _fill(self, spool: Spool) -> None:
        limit = self.ctx.limit
        rk = self._renamed(self.replication_column) if self.replication_column else None
        start = self.start_value
        for raw in self.batches():
            self._check_deadline()
            rb = self.to_record_batch(raw)
            if rb.num_rows == 0:
                continue
            if rk is not None and rk in rb.schema.names:
                if start is not None:
                    rb = _after(rb, rk, start)
                self._track_max(rb, rk)
            if rb.num_rows == 0:
                continue
            if limit is not None and spool.rows + rb.num_rows >= limit:
                rb = rb.slice(0, limit - spool.rows)
                spool.write(rb)
                self.truncated = True
                return
            spool.write(rb)

    def _finish_state(self) -> None:
        if self.ctx.period is not None or self.truncated:
            # A backfill or a truncated trial run never moves the watermark.
            self.new_state = dict(self.ctx.state)
            return
        if self.replication_column:
            value = self._max_value if self._max_value is not None else self.start_value
            if value is not None:
                self.new_state = {
                    **self.new_state,
                    "replication_key": self.replication_column,
                    "replication_key_value": _jsonable(value),
                }

    def _track_max(self, rb: pa.RecordBatch, column: str) -> None:
        col = rb.column(rb.schema.get_field_index(column))
        try:
            m = pc.max(col).as_py()
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
            return
        if m is None:
            return
        if self._max_value is None:
            self._max_value = m
            return
        try:
            if m > self._max_value:
                self._max_value = m
        except TypeError:
            if str(m) > str(self._max_value):
                self._max_value = m

    def _renamed(self, source_column: str) -> str:
        return self.config.columns.get(source_column, source_column)

    def to_record_batch(self, batch) -> pa.RecordBatch:
        """Any batch a connector yields -> a normalised record batch with contract names."""
        if isinstance(batch, pa.RecordBatch):
            rb = batch
        elif isinstance(batch, pa.Table):
            rb = batch.combine_chunks().to_batches()[0] if batch.num_rows else pa.RecordBatch.from_pylist([])
        elif isinstance(batch, pd.DataFrame):
            rb = frame_to_batch(batch)
        else:
            rb = records_to_batch(list(batch))
        renames = self.config.columns
        if renames:
            names = [renames.get(n, n) for n in rb.schema.names]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ConnectorError(
                    f"{self.source_label()}: `columns` maps two source columns onto {', '.join(dupes)}"
                )
            rb = rb.rename_columns(names)
        return normalise_batch(rb)

    # kept for connectors written against the first version of the base class
    _to_record_batch = to_record_batch

    def _period_filter(self, rel: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
        first, last = self.ctx.period
        col = self.contract.period_column
        if col not in rel.columns:
            raise ConnectorError(
                f"{self.source_label()}: cannot backfill {first:%Y-%m}..{last:%Y-%m}: "
                f"the extract has no {col!r} column to place rows in months"
            )
        quoted = '"' + col.replace('"', '""') + '"'
        fmt = self.config.formats.get(col)
        expr = (
            f"try_strptime(cast({quoted} as varchar), {sql_literal(fmt)})" if fmt else f"try_cast({quoted} as timestamp)"
        )
        end = _month_end(last) + dt.timedelta(days=1)
        return rel.filter(
            f"{expr} >= timestamp '{first.replace(day=1).isoformat()}' and {expr} < timestamp '{end.isoformat()}'"
        )


def _after(rb: pa.RecordBatch, column: str, start: Any) -> pa.RecordBatch:
    """Rows whose replication key is greater than the watermark (null keys are not new)."""
    col = rb.column(rb.schema.get_field_index(column))
    try:
        scalar = pa.scalar(start)
        if scalar.type != col.type:
            scalar = scalar.cast(col.type)
        mask = pc.greater(col, scalar)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        try:
            mask = pc.greater(col.cast(pa.string()), pa.scalar(str(start)))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return rb
    return rb.filter(pc.fill_null(mask, False))


def _raw_secret_strings(config: dict) -> set[str]:
    """Best effort, before validation: values of keys that look secret, and what env: points to."""
    out: set[str] = set()

    def walk(obj):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if isinstance(v, str) and any(w in k.lower() for w in ("secret", "token", "password", "key")):
                    if v.startswith("env:"):
                        if os.environ.get(v[4:]):
                            out.add(os.environ[v[4:]])
                    elif len(v) >= 4:
                        out.add(v)
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)

    walk(config)
    return out


def _remove_stale(root: Path, prefix: str, older_than: float = 6 * 3600) -> None:
    """Scratch folders left by a killed extract are removed by a later one."""
    now = time.time()
    for p in root.glob(f"{prefix}-*"):
        try:
            if p.is_dir() and now - p.stat().st_mtime > older_than:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def state_json(state: dict) -> str:
    return json.dumps(state, sort_keys=True, default=str)
