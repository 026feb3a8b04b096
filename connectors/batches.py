"""Whatever a connector yields (record batches, tables, data frames, lists of dicts) as Arrow record batches
of types Parquet and DuckDB take well."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa


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
