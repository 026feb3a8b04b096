"""A DuckDB SQLAlchemy dialect whose results are fully buffered when the statement runs.

Great Expectations 1.x releases its connection before it fetches a metric query's rows
(`with engine.connect() as c: result = c.execute(q)` then `result.fetchall()`). DuckDB keeps
one pending result per connection, and the rollback on release discards it, so every metric
fails with "list index out of range" (GX issues #10738, #11579). Buffering at execution time
is exactly what SQLAlchemy's FullyBufferedCursorFetchStrategy is for ("a result to be
delivered after the database conversation can not be continued"). Only GX uses this
dialect (`duckdb+buffered://`); the pipeline's own engine streams as usual.
"""

from __future__ import annotations

from duckdb_engine import Dialect as DuckDBDialect
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy


class _BufferedExecutionContext(DuckDBDialect.execution_ctx_cls):  # type: ignore[misc,name-defined]
    def post_exec(self):
        super().post_exec()
        if self.cursor.description is not None:
            self.cursor_fetch_strategy = FullyBufferedCursorFetchStrategy(self.cursor, self.cursor.description)


class BufferedDuckDBDialect(DuckDBDialect):
    execution_ctx_cls = _BufferedExecutionContext
    supports_statement_cache = False


def register() -> None:
    """Make `duckdb+buffered://` resolvable even when the package's entry point is not installed."""
    from sqlalchemy.dialects import registry

    registry.register("duckdb.buffered", __name__, "BufferedDuckDBDialect")
