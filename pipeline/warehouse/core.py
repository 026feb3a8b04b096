"""The warehouse: one SQLAlchemy engine, and the few operations whose SQL differs by engine.

DuckDB (embedded, the default) and PostgreSQL (production) are both first-class. Bulk data
never goes through row-by-row inserts: DuckDB reads Parquet itself, PostgreSQL gets COPY.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from dataset_contracts.sql import ident, sql_literal  # noqa: F401  (re-exported for the stages)

log = logging.getLogger(__name__)


def redact_url(url: str) -> str:
    """The URL as it may appear in logs and errors: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<warehouse url>"


def read_frame(conn: Connection, sql: str, params: dict | None = None) -> pd.DataFrame:
    """A query's rows as a DataFrame, on a connection the caller holds (inside its transaction)."""
    result = conn.execute(sa.text(sql), params or {})
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


class Warehouse:
    def __init__(self, url: str, duckdb_memory: str = "1GB"):
        self.url = url
        parsed = make_url(url)
        self.dialect = "postgresql" if parsed.get_backend_name() == "postgresql" else parsed.get_backend_name()
        if self.dialect not in ("duckdb", "postgresql"):
            raise ValueError(f"unsupported warehouse {redact_url(url)}: use duckdb:/// or postgresql+psycopg://")
        if self.dialect == "duckdb":
            db = parsed.database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            # GX opens its own engine on the same file; DuckDB requires identical config for that.
            self.engine_kwargs = {"connect_args": {"config": {"memory_limit": duckdb_memory}}}
            self.engine: Engine = sa.create_engine(url, **self.engine_kwargs)
            if db and db != ":memory:":
                from pipeline.warehouse.duckdb_lock import install as install_lock_policy

                install_lock_policy(self.engine, db)
        else:
            if parsed.drivername == "postgresql":
                url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
                self.url = url
            self.engine_kwargs = {"pool_pre_ping": True}
            self.engine = sa.create_engine(url, **self.engine_kwargs)
        from pipeline.warehouse.faults import install as install_faults
        from pipeline.warehouse.profile import install as install_profile

        install_faults(self.engine)
        install_profile(self.engine)
        # DuckDB allows one writer transaction at a time per table; serialise our own writers.
        self.write_lock = threading.RLock() if self.dialect == "duckdb" else contextlib.nullcontext()

    def __repr__(self) -> str:
        return f"Warehouse({redact_url(self.url)})"

    @property
    def is_duckdb(self) -> bool:
        return self.dialect == "duckdb"

    @property
    def gx_connection_string(self) -> str:
        if self.is_duckdb:
            return self.url.replace("duckdb://", "duckdb+buffered://", 1)
        return self.url

    # -- connections -----------------------------------------------------------------
    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.write_lock, self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def execute(self, sql: str, params: dict | None = None) -> None:
        with self.begin() as conn:
            conn.execute(sa.text(sql), params or {})

    def scalar(self, sql: str, params: dict | None = None) -> Any:
        with self.connect() as conn:
            return conn.execute(sa.text(sql), params or {}).scalar()

    def query(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        with self.connect() as conn:
            return read_frame(conn, sql, params)

    def schemas(self) -> list[str]:
        # information_schema, not the inspector: duckdb-engine reports "catalog.schema" names.
        return list(self.query("select distinct table_schema as s from information_schema.tables order by 1")["s"])

    def tables(self, schema: str) -> list[str]:
        sql = "select table_name as t from information_schema.tables where table_schema = :s order by 1"
        return list(self.query(sql, {"s": schema})["t"])

    def table_exists(self, schema: str, name: str) -> bool:
        sql = (
            "select count(*) from information_schema.tables where table_schema = :s and table_name = :t"
        )
        return bool(self.scalar(sql, {"s": schema, "t": name}))

    def columns(self, schema: str, name: str) -> list[str]:
        sql = (
            "select column_name from information_schema.columns where table_schema = :s and table_name = :t "
            "order by ordinal_position"
        )
        return list(self.query(sql, {"s": schema, "t": name})["column_name"])

    # -- DDL helpers -------------------------------------------------------------------
    def create_table_as(self, conn: Connection, name: str, select_sql: str, view: bool = False) -> None:
        """Materialise a model: replace the table (or view) `name` with the result of `select_sql`."""
        ident(name)
        schema, table = name.split(".")
        existing = conn.execute(
            sa.text("select table_type from information_schema.tables where table_schema = :s and table_name = :t"),
            {"s": schema, "t": table},
        ).scalar()
        kind = "view" if view else "table"
        if existing:
            # Neither engine drops a view with `drop table` (or the reverse), so drop what is there.
            was = "view" if existing.upper() == "VIEW" else "table"
            cascade = "" if self.is_duckdb else " cascade"
            if self.is_duckdb and was == kind:
                pass  # `create or replace` below swaps it in place
            else:
                conn.execute(sa.text(f"drop {was} if exists {name}{cascade}"))
        if self.is_duckdb:
            conn.execute(sa.text(f"create or replace {kind} {name} as {select_sql}"))
        else:
            conn.execute(sa.text(f"create {kind} {name} as {select_sql}"))

    # -- bulk data -----------------------------------------------------------------------
    def copy_parquet_into(self, conn: Connection, table: str, parquet: Path, columns: list[str]) -> int:
        """Append the Parquet file's `columns` to `table` using the engine's bulk path."""
        ident(table)
        cols = ", ".join(ident(c) for c in columns)
        if self.is_duckdb:
            path = sql_literal(str(Path(parquet).resolve()))
            result = conn.execute(sa.text(f"insert into {table} ({cols}) select {cols} from read_parquet({path})"))
            return result.rowcount if result.rowcount is not None and result.rowcount >= 0 else -1
        return self._pg_copy(conn, table, parquet, columns)

    def _pg_copy(self, conn: Connection, table: str, parquet: Path, columns: list[str]) -> int:
        pf = pq.ParquetFile(parquet)
        return self._pg_copy_batches(conn, table, columns, pf.iter_batches(batch_size=200_000, columns=columns))

    @staticmethod
    def _pg_copy_batches(conn: Connection, table: str, columns: list[str], batches) -> int:
        """COPY Arrow batches into `table`: binary COPY encoded by pgpq (in Rust, no text for the
        server to parse back into timestamps and numbers) when every column's type is one it
        encodes, else CSV text. BENEFITS_PG_COPY=csv forces the text path (benchmarks compare
        the two in the same run)."""
        from pipeline.warehouse import profile

        raw = conn.connection.driver_connection
        schema = _arrow_schema(raw, table, columns) if os.environ.get("BENEFITS_PG_COPY", "binary") != "csv" else None
        fmt = "binary" if schema is not None else "csv, header false"
        sql = f"copy {table} ({', '.join(columns)}) from stdin with (format {fmt})"
        n = 0
        t0, encode = time.perf_counter(), 0.0
        with raw.cursor() as cur:
            with cur.copy(sql) as copy:
                if schema is not None:
                    import pgpq

                    encoder = pgpq.ArrowToPostgresBinaryEncoder(schema)
                    copy.write(encoder.write_header())
                for batch in batches:
                    t = time.perf_counter()
                    if schema is not None:
                        data = encoder.write_batch(batch.cast(schema) if batch.schema != schema else batch)
                    else:
                        buf = io.BytesIO()
                        pacsv.write_csv(pa.Table.from_batches([batch]), buf, pacsv.WriteOptions(include_header=False))
                        data = buf.getvalue()
                    encode += time.perf_counter() - t
                    copy.write(data)
                    n += batch.num_rows
                if schema is not None:
                    copy.write(encoder.finish())
        profile.record(sql, time.perf_counter() - t0, encode_s=round(encode, 4), rows=n, format=fmt.split(",")[0])
        return n

    def column_type(self, logical: str) -> str:
        """This engine's SQL type for a logical contract type (dataset_contracts.contracts.TYPES)."""
        from dataset_contracts.contracts import TYPES

        return TYPES[logical][0 if self.is_duckdb else 1]

    def columns_ddl(self, types: dict[str, str]) -> str:
        """`name type, ...` for a create table, from column -> logical contract type."""
        return ", ".join(f"{ident(c)} {self.column_type(t)}" for c, t in types.items())

    def replace_table(self, conn: Connection, table: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
        """Replace `table` with a small frame; `types` maps each column to a logical contract type."""
        from dataset_contracts.contracts import TYPES

        ident(table)
        cols = list(types)
        ddl = self.columns_ddl(types)
        conn.execute(sa.text(f"drop table if exists {table}"))
        conn.execute(sa.text(f"create table {table} ({ddl})"))
        if frame.empty:
            return
        schema = pa.schema([pa.field(c, TYPES[t][2]) for c, t in types.items()])
        self.insert_arrow(conn, table, cols, pa.Table.from_pandas(frame[cols], schema=schema, preserve_index=False))

    def insert_arrow(self, conn: Connection, table: str, cols: list[str], arrow: pa.Table) -> None:
        """Append an Arrow table's rows to `table`'s columns `cols`: DuckDB reads it in place,
        PostgreSQL takes it by binary COPY."""
        if self.is_duckdb:
            raw = conn.connection.driver_connection
            raw.register("_arrow_rows", arrow)
            try:
                conn.execute(sa.text(f"insert into {table} ({', '.join(cols)}) select * from _arrow_rows"))
            finally:
                raw.unregister("_arrow_rows")
        else:
            self._pg_copy_batches(conn, table, cols, arrow.to_batches(max_chunksize=100_000))

    def create_site_view(self, conn: Connection, view: str, select: str) -> None:
        """(Re)create a site's view; on PostgreSQL a security barrier, so a site's reader sees its
        rows only."""
        if self.is_duckdb:
            conn.execute(sa.text(f"create or replace view {view} as {select}"))
        else:
            conn.execute(sa.text(f"drop view if exists {view}"))
            conn.execute(sa.text(f"create view {view} with (security_barrier = true) as {select}"))

    def dispose(self) -> None:
        if self.is_duckdb:
            # fold the write-ahead log into the file, so a copy of the .duckdb file alone (a backup)
            # holds everything; DuckDB does this itself only when its last connection closes
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("checkpoint")
            except sa.exc.DBAPIError as e:
                log.debug("no checkpoint on closing %s: %s", self.url, e)
        self.engine.dispose()


# PostgreSQL column types binary COPY can be fed from Arrow, and the Arrow type that encodes each.
_PG_ARROW = {
    "text": pa.string(),
    "character varying": pa.string(),
    "bigint": pa.int64(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp without time zone": pa.timestamp("us"),
}


def _arrow_schema(raw, table: str, columns: list[str]) -> pa.Schema | None:
    """The Arrow schema whose binary COPY matches `table`'s `columns` exactly, or None (no pgpq,
    or a column type it is not mapped for here)."""
    try:
        import pgpq  # noqa: F401
    except ImportError:
        return None
    if "." not in table:
        return None
    schema, name = table.split(".", 1)
    with raw.cursor() as cur:
        cur.execute(
            "select column_name, data_type from information_schema.columns where table_schema = %s and table_name = %s",
            (schema.strip('"'), name.strip('"')),
        )
        types = dict(cur.fetchall())
    if any(types.get(c) not in _PG_ARROW for c in columns):
        return None
    return pa.schema([pa.field(c, _PG_ARROW[types[c]]) for c in columns])
