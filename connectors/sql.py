"""`sql`: a table or a query from any database SQLAlchemy can reach (EPR reporting databases).

Rows stream through a server-side cursor in batches of `batch_size`, so a table of any size
passes with bounded memory: PostgreSQL through a named (server-side) psycopg cursor,
MySQL/MariaDB through an unbuffered cursor of the compiled asyncmy protocol (or the URL's own
driver's SSCursor), anything else through SQLAlchemy's `stream_results`. Each batch is turned
column by column into Arrow, never row by row into pandas.

Incremental by `replication_key`: rows whose key is greater than the last load's maximum,
in key order, so a watermark always describes a prefix of the source.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
from collections.abc import Iterator
from operator import itemgetter
from typing import Any, Literal

import pyarrow as pa
import sqlalchemy as sa
from pydantic import Field, SecretStr, model_validator
from sqlalchemy.engine import make_url

from connectors.base import (
    Connector,
    ConnectorConfig,
    ConnectorError,
    TransientError,
    classify_common,
    resolve_secret,
    secret_field,
)

_P = "\x00param\x00"  # placeholder while the statement is built; the driver's style replaces it

# MySQL/MariaDB client and server error numbers that mean "try again later".
_MYSQL_TRANSIENT = {1040, 1205, 1213, 2002, 2003, 2006, 2013, 2055}
_MYSQL_AUTH = {1044, 1045, 1698}


class SqlConfig(ConnectorConfig):
    batch_size: int = Field(default=20_000, ge=1, description="rows per fetch from the server-side cursor")
    url: str = Field(
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db (or env:VAR_NAME); "
        "its password never appears in messages"
    )
    password: SecretStr | None = secret_field(default=None, description="password, if not in the URL (or env:VAR_NAME)")
    table: str | None = Field(default=None, description="table to extract (schema.table allowed)")
    query: str | None = Field(default=None, description="a SELECT to extract instead of a table")
    replication_key: str | None = Field(
        default=None, description="source column that only grows (updated_at, id): extract rows past the last load"
    )
    period_column: str | None = Field(
        default=None, description="source column that places a row in a month, for backfills (default: the contract's)"
    )
    allow_empty: bool = Field(default=False, description="a full extract that returns no rows is not an error")
    driver: Literal["auto", "dbapi"] = Field(
        default="auto",
        description="auto: the fastest streaming client for the database; dbapi: only the URL's own driver",
    )

    @model_validator(mode="after")
    def _table_or_query(self):
        if bool(self.table) == bool(self.query):
            raise ValueError("give exactly one of `table` or `query`")
        return self


class _AsyncBridge:
    """Drive an asyncio client from synchronous code, whatever loop the caller runs in.

    The private loop runs only while a call is in flight, never between calls: a protocol
    that reads without flow control (asyncmy) then cannot buffer the rest of a large result
    set while a batch is being converted; TCP holds it back at the server instead.
    """

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sql-connector-io")

    def run(self, coro, timeout: float | None = None):
        async def bounded():
            return await asyncio.wait_for(coro, timeout)

        try:
            return self.pool.submit(self.loop.run_until_complete, bounded()).result()
        except asyncio.TimeoutError:
            raise TimeoutError(f"no answer within {timeout:g} s") from None

    def close(self) -> None:
        try:
            self.pool.submit(self.loop.close).result()
        finally:
            self.pool.shutdown(wait=True)


class _Columns:
    """Rows from a cursor -> an Arrow record batch, one column at a time.

    The Arrow type found for a column in one batch is tried first in the next (inference is
    the slow part); a column whose values Arrow cannot take becomes text.
    """

    def __init__(self, names: list[str]):
        self.names = names
        self.types: list[pa.DataType | None] = [None] * len(names)

    def batch(self, rows: list) -> pa.RecordBatch:
        arrays = []
        for i in range(len(self.names)):
            values = list(map(itemgetter(i), rows))
            arr = None
            t = self.types[i]
            if t is not None and not pa.types.is_null(t):
                try:
                    arr = pa.array(values, type=t)
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
                    arr = None
            if arr is None:
                try:
                    arr = pa.array(values)
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
                    arr = pa.array([None if v is None else _text(v) for v in values], pa.string())
                self.types[i] = arr.type
            arrays.append(arr)
        return pa.RecordBatch.from_arrays(arrays, names=self.names)


def _text(v: Any) -> str:
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


class SqlConnector(Connector):
    name = "sql"
    config_model = SqlConfig
    # the server and driver are where rows come from, not what they become
    fetch_options = Connector.fetch_options | {"url", "password", "driver", "allow_empty"}
    description = "a table or query from any SQLAlchemy database, streamed with a server-side cursor"
    handles_period = True
    config: SqlConfig

    def __init__(self, config, ctx):
        super().__init__(config, ctx)
        raw = resolve_secret(self.config.url) or ""
        try:
            url = make_url(raw)
        except Exception:  # noqa: BLE001 - ArgumentError and friends; the URL itself may hold a secret
            raise ConnectorError(f"{self.describe()}: `url` is not a SQLAlchemy URL") from None
        if self.config.password is not None:
            url = url.set(password=resolve_secret(self.config.password))
        if url.password:
            self.add_secret(str(url.password))
        self.url = url
        self.backend = url.get_backend_name()

    # -- naming ------------------------------------------------------------------------------
    def source_label(self) -> str:
        where = f"{self.url.host or 'local'}{':' + str(self.url.port) if self.url.port else ''}/{self.url.database or ''}"
        what = f"table {self.config.table}" if self.config.table else "query"
        return f"{what} at {self.backend}://{where}"

    # -- SQL -----------------------------------------------------------------------------------
    def _quote(self, dialect, name: str) -> str:
        prep = dialect.identifier_preparer
        return ".".join(prep.quote(part) for part in name.split("."))

    def _period_column(self) -> str:
        if self.config.period_column:
            return self.config.period_column
        target = self.contract.period_column
        for src, dst in self.config.columns.items():
            if dst == target:
                return src
        return target

    def statement(self, dialect, style: str) -> tuple[str, list | dict]:
        """The SELECT to run and its parameters, in the driver's style (`format` or `named`)."""
        base = (
            f"select * from {self._quote(dialect, self.config.table)}"
            if self.config.table
            else f"select * from ({self.config.query.strip().rstrip(';')}) src"
        )
        conds, params = [], []
        rk = self.replication_column
        start = self.start_value
        if rk and start is not None:
            conds.append(f"{self._quote(dialect, rk)} > {_P}")
            params.append(start)
        if self.ctx.period is not None:
            first, last = self.ctx.period
            end = dt.date(last.year + (last.month == 12), last.month % 12 + 1, 1)
            col = self._quote(dialect, self._period_column())
            conds.append(f"{col} >= {_P}")
            conds.append(f"{col} < {_P}")
            params += [dt.datetime.combine(first.replace(day=1), dt.time()), dt.datetime.combine(end, dt.time())]
        sql = base
        if conds:
            sql = f"select * from ({base}) filtered where " + " and ".join(conds)
        if rk:
            sql += f" order by {self._quote(dialect, rk)}"
        pieces = sql.split(_P)
        if style == "named":
            names = [f"p{i}" for i in range(len(params))]
            out = pieces[0] + "".join(f":{n}{rest}" for n, rest in zip(names, pieces[1:]))
            return out, dict(zip(names, params))
        if not params:
            return sql, None  # no placeholders: the driver must not treat % as one
        out = pieces[0].replace("%", "%%") + "".join("%s" + rest.replace("%", "%%") for rest in pieces[1:])
        return out, params

    # -- extraction -----------------------------------------------------------------------------
    def batches(self) -> Iterator[pa.RecordBatch]:
        total = 0
        if self.backend == "postgresql" and self.url.get_driver_name() in ("psycopg", "psycopg2"):
            stream = self._postgres()
        elif self.backend in ("mysql", "mariadb") and self.config.driver == "auto" and _has_asyncmy():
            stream = self._mysql_asyncmy()
        elif self.backend in ("mysql", "mariadb") and self.url.get_driver_name() in ("pymysql", "mysqldb"):
            stream = self._mysql_dbapi()
        else:
            stream = self._sqlalchemy()
        for rb in stream:
            total += rb.num_rows
            yield rb
        if total == 0 and self.start_value is None and self.ctx.period is None and not self.config.allow_empty:
            raise ConnectorError(
                f"{self.source_label()}: the {'table' if self.config.table else 'query'} returned no rows "
                "(set allow_empty: true if that is expected)"
            )

    def _engine(self) -> sa.Engine:
        args: dict[str, Any] = {}
        timeout = max(1, int(self.config.timeout_seconds))
        if self.backend == "postgresql":
            args["connect_timeout"] = timeout
        elif self.backend in ("mysql", "mariadb"):
            args["connect_timeout"] = timeout
            args["read_timeout"] = timeout
        return sa.create_engine(self.url, poolclass=sa.pool.NullPool, connect_args=args)

    def _postgres(self) -> Iterator[pa.RecordBatch]:
        engine = self._engine()
        sql, params = self.statement(engine.dialect, "format")
        timeout_ms = int(self.config.timeout_seconds * 1000)

        def open_cursor():
            raw = engine.raw_connection()
            try:
                dbapi = raw.driver_connection
                with dbapi.cursor() as plain:
                    # Each FETCH of the named cursor is its own statement, so this bounds one batch.
                    plain.execute(f"set statement_timeout = {timeout_ms}")
                kwargs = {"binary": True} if self.url.get_driver_name() == "psycopg" else {}
                cur = dbapi.cursor(name="benefits_extract", **kwargs)
                cur.itersize = self.config.batch_size
                cur.execute(sql, params)
                return raw, cur
            except BaseException:
                raw.close()
                raise

        raw, cur = self.call(open_cursor, what="run the query")
        try:
            yield from self._fetch(cur.fetchmany, [d[0] for d in cur.description])
        finally:
            _quietly(cur.close)
            _quietly(raw.close)
            engine.dispose()

    def _fetch(self, fetchmany, names: list[str]) -> Iterator[pa.RecordBatch]:
        """Batches from the cursor; the next fetch runs while this batch is converted and written
        (the driver waits on the network and Parquet writes without holding the GIL)."""
        cols = _Columns(list(names))
        size = self.config.batch_size
        with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sql-fetch") as pool:
            pending = pool.submit(fetchmany, size)
            while True:
                rows = pending.result()
                if not rows:
                    return
                pending = pool.submit(fetchmany, size)
                try:
                    yield cols.batch(rows)
                except GeneratorExit:
                    _quietly(pending.result)  # let the fetch in flight finish before the cursor closes
                    raise

    def _mysql_dbapi(self) -> Iterator[pa.RecordBatch]:
        engine = self._engine()
        sql, params = self.statement(engine.dialect, "format")

        def open_cursor():
            raw = engine.raw_connection()
            try:
                dbapi = raw.driver_connection
                if self.url.get_driver_name() == "pymysql":
                    import pymysql.cursors

                    cur = dbapi.cursor(pymysql.cursors.SSCursor)
                else:  # mysqldb
                    import MySQLdb.cursors

                    cur = dbapi.cursor(MySQLdb.cursors.SSCursor)
                cur.execute(sql, params)
                return raw, cur
            except BaseException:
                raw.close()
                raise

        raw, cur = self.call(open_cursor, what="run the query")
        try:
            yield from self._fetch(cur.fetchmany, [d[0] for d in cur.description])
        finally:
            _quietly(cur.close)
            _quietly(raw.close)
            engine.dispose()

    def _mysql_asyncmy(self) -> Iterator[pa.RecordBatch]:
        import asyncmy
        from asyncmy.cursors import SSCursor

        dialect = sa.create_engine(self.url.set(drivername="mysql+pymysql"), poolclass=sa.pool.NullPool).dialect
        sql, params = self.statement(dialect, "format")
        timeout = self.config.timeout_seconds
        bridge = _AsyncBridge()
        u = self.url
        query = dict(u.query)

        async def open_cursor():
            conn = await asyncmy.connect(
                host=u.host or "localhost",
                port=int(u.port or 3306),
                user=u.username or "",
                password=u.password or "",
                database=u.database or None,
                charset=str(query.get("charset", "utf8mb4")),
                connect_timeout=max(1, int(timeout)),
                read_timeout=timeout,
            )
            try:
                _small_receive_buffer(conn)
                cur = conn.cursor(cursor=SSCursor)
                await cur.execute(sql, params)
                return conn, cur
            except BaseException:
                conn.close()
                raise

        conn = None
        try:
            conn, cur = self.call(lambda: bridge.run(open_cursor(), timeout * 2), what="run the query")
            names = [d[0] for d in cur.description]
            yield from self._fetch(lambda n: bridge.run(cur.fetchmany(n), timeout), names)
        finally:
            if conn is not None:
                # QUIT rather than draining the cursor: a stopped extract (--limit, an error)
                # must not read the rest of the result, and the server must see the session end
                # at once (an open session holds locks on the table).
                _quietly(lambda: bridge.run(conn.ensure_closed(), 5))
                _quietly(conn.close)
            bridge.close()

    def _sqlalchemy(self) -> Iterator[pa.RecordBatch]:
        engine = self._engine()
        sql, params = self.statement(engine.dialect, "named")

        def open_result():
            conn = engine.connect()
            try:
                result = conn.execution_options(stream_results=True, yield_per=self.config.batch_size).execute(
                    sa.text(sql), params
                )
                return conn, result
            except BaseException:
                conn.close()
                raise

        conn, result = self.call(open_result, what="run the query")
        try:
            names = list(result.keys())
            yield from self._fetch(lambda n: result.fetchmany(n), names)
        finally:
            _quietly(result.close)
            _quietly(conn.close)
            engine.dispose()

    # -- errors -------------------------------------------------------------------------------
    def classify(self, exc: BaseException) -> ConnectorError | None:
        where = self.source_label()
        orig = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
        text = str(orig).strip()
        first = text.splitlines()[0] if text else type(orig).__name__
        # In order: a MySQL error number says it all; then what any server's messages say.
        for rule in (_mysql_error, self._cancelled, _refused_credentials, _unreachable, _timed_out):
            err = rule(orig, where, first)
            if err is not None:
                return err
        common = classify_common(orig, where)
        if common is not None:
            return common
        if isinstance(exc, sa.exc.NoSuchModuleError | sa.exc.ArgumentError) or type(orig).__name__ in _PERMANENT:
            return ConnectorError(f"{where}: {first}")
        return None

    def _cancelled(self, orig: BaseException, where: str, first: str) -> ConnectorError | None:
        if type(orig).__name__ == "QueryCanceled" or "statement timeout" in str(orig).lower():
            return TransientError(f"{where}: timed out after {self.config.timeout_seconds:g} s ({first})")
        return None


# Driver errors about the statement or its data: running it again would fail the same way.
_PERMANENT = ("ProgrammingError", "UndefinedTable", "UndefinedColumn", "SyntaxError", "DataError")


def _mysql_error(orig: BaseException, where: str, first: str) -> ConnectorError | None:
    code = orig.args[0] if getattr(orig, "args", None) and isinstance(orig.args[0], int) else None
    if code is None or type(orig).__module__.split(".")[0] not in ("pymysql", "asyncmy", "MySQLdb"):
        return None
    if code in _MYSQL_AUTH:
        return ConnectorError(f"{where}: the database refused the credentials ({first})")
    if code in _MYSQL_TRANSIENT:
        lost = code in (2002, 2003, 2006, 2013, 2055)
        return TransientError(
            f"{where}: {'cannot reach the database (' if lost else ''}{_mysql_message(orig)}{')' if lost else ''}"
        )
    return ConnectorError(f"{where}: {_mysql_message(orig)}")


def _refused_credentials(orig: BaseException, where: str, first: str) -> ConnectorError | None:
    lowered = str(orig).lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered or (
        "role" in lowered and "does not exist" in lowered
    ):
        return ConnectorError(f"{where}: the database refused the credentials ({first})")
    return None


def _unreachable(orig: BaseException, where: str, first: str) -> ConnectorError | None:
    if type(orig).__name__ != "OperationalError" and not isinstance(orig, sa.exc.DisconnectionError):
        return None
    lowered = str(orig).lower()
    if "does not exist" in lowered:
        return ConnectorError(f"{where}: {first}")
    if any(w in lowered for w in ("refused", "timeout", "timed out", "could not connect", "connection", "terminat")):
        return TransientError(f"{where}: cannot reach the database ({first})")
    return None


def _timed_out(orig: BaseException, where: str, first: str) -> ConnectorError | None:
    if isinstance(orig, TimeoutError | concurrent.futures.TimeoutError):
        return TransientError(f"{where}: timed out ({first})")
    return None


def _mysql_message(orig) -> str:
    args = getattr(orig, "args", ())
    if len(args) >= 2:
        return f"({args[0]}) {args[1]}"
    return str(orig)


def _quietly(fn) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - cleanup after an error must not hide it
        pass


def _small_receive_buffer(conn) -> None:
    """asyncmy parses every row already received in one go; a modest kernel receive buffer
    keeps that (and its own read buffer) small while a batch is converted."""
    import socket

    transport = getattr(conn, "_transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        except OSError:
            pass


def _has_asyncmy() -> bool:
    try:
        import asyncmy  # noqa: F401
    except ImportError:
        return False
    return True
