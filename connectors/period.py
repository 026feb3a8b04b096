"""Backfill months: the rows of an extract that fall in the reporting months asked for."""

from __future__ import annotations

import datetime as dt

import duckdb

from connectors.errors import ConnectorError
from dataset_contracts.sql import sql_literal


def month_end(d: dt.date) -> dt.date:
    nxt = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def period_filter(
    rel: duckdb.DuckDBPyRelation, period: tuple[dt.date, dt.date], col: str, fmt: str | None, where: str
) -> duckdb.DuckDBPyRelation:
    """The rows whose `col` falls in the months first..last (inclusive); `fmt` is its strptime
    format when the column is text in a format DuckDB cannot cast; `where` names the source."""
    first, last = period
    if col not in rel.columns:
        raise ConnectorError(
            f"{where}: cannot backfill {first:%Y-%m}..{last:%Y-%m}: "
            f"the extract has no {col!r} column to place rows in months"
        )
    quoted = '"' + col.replace('"', '""') + '"'
    expr = (
        f"try_strptime(cast({quoted} as varchar), {sql_literal(fmt)})" if fmt else f"try_cast({quoted} as timestamp)"
    )
    end = month_end(last) + dt.timedelta(days=1)
    return rel.filter(
        f"{expr} >= timestamp '{first.replace(day=1).isoformat()}' and {expr} < timestamp '{end.isoformat()}'"
    )
