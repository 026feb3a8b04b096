"""The replication watermark: which rows are new, the greatest key seen, and the state as stored."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def jsonable(value: Any) -> Any:
    """A watermark value as the JSON state can hold it."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def rows_after(rb: pa.RecordBatch, column: str, start: Any) -> pa.RecordBatch:
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


def state_json(state: dict) -> str:
    return json.dumps(state, sort_keys=True, default=str)
