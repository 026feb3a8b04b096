"""Scratch space for an extract: record batches spooled to Parquet parts, and stale folders cleared."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


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


def remove_stale(root: Path, prefix: str, older_than: float = 6 * 3600) -> None:
    """Scratch folders left by a killed extract are removed by a later one."""
    now = time.time()
    for p in root.glob(f"{prefix}-*"):
        try:
            if p.is_dir() and now - p.stat().st_mtime > older_than:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass
