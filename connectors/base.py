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

import hashlib
import logging
import shutil
import time
import uuid
from abc import ABC
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

# Connectors, the pipeline and the scaffold's templates import these from connectors.base.
from connectors.batches import frame_to_batch, normalise_batch, records_to_batch  # noqa: F401
from connectors.config import ConnectorConfig, ExtractContext  # noqa: F401
from connectors.errors import ConnectorError, TransientError, classify_common, short_message  # noqa: F401
from connectors.period import period_filter
from connectors.retry import backoff_delay, check_deadline
from connectors.secrets import REDACTED, raw_secret_strings, redact, resolve_secret, secret_field  # noqa: F401
from connectors.spool import Spool, remove_stale
from connectors.watermark import jsonable, rows_after, state_json  # noqa: F401
from dataset_contracts.contracts import Contract, get_contract
from dataset_contracts.lineage import LINEAGE_FILE, LINEAGE_PERIOD  # noqa: F401  (part of the connector API)
from dataset_contracts.sql import sql_literal

log = logging.getLogger(__name__)

T = TypeVar("T")


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
                secrets = raw_secret_strings(config)
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
            err = ConnectorError(f"{type(exc).__name__}: {short_message(exc, 1000)}")
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
                err = self.classify(exc) or ConnectorError(f"{type(exc).__name__}: {short_message(exc, 1000)}")
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
        return backoff_delay(attempt, err, self.config.backoff_seconds)

    def _check_deadline(self) -> None:
        check_deadline(self._started, self.config.max_runtime_seconds, self.source_label())

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
        remove_stale(root, prefix)
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
                    rb = rows_after(rb, rk, start)
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
                    "replication_key_value": jsonable(value),
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
        col = self.contract.period_column
        return period_filter(rel, self.ctx.period, col, self.config.formats.get(col), self.source_label())
