"""Atomic, deterministic extract files: written under a temporary name, hashed, then renamed.

A reader globbing `*.csv` / `*.parquet` never sees a half-written file, and the ground
truth is written last, so its presence marks a complete run. Parquet goes through Arrow's
writer (no wall-clock in its metadata); CSV through Arrow's CSV writer without quoting,
after a header line we write ourselves (Arrow would quote it).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

EXTENSIONS = {"local_csv": "csv", "contract_parquet": "parquet"}


def temp_path(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class ExtractFile:
    """One month's extract of one dataset, written in table chunks."""

    def __init__(self, path: Path, flavour: str, schema: pa.Schema, header: list[str]):
        self.path, self.tmp, self.rows = path, temp_path(path), 0
        path.parent.mkdir(parents=True, exist_ok=True)
        if flavour == "contract_parquet":
            self._sink = None
            self._writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")
        else:
            self._sink = pa.OSFile(str(self.tmp), "wb")
            self._sink.write((",".join(header) + "\n").encode())
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            self._writer = pacsv.CSVWriter(self._sink, schema, write_options=options)

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(table)
            self.rows += table.num_rows

    def close(self) -> str:
        """Finish, move into place and return the file's sha256."""
        self._writer.close()
        if self._sink is not None:
            self._sink.close()
        digest = sha256_of(self.tmp)
        os.replace(self.tmp, self.path)
        return digest

    def abort(self) -> None:
        try:
            self._writer.close()
            if self._sink is not None:
                self._sink.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    tmp = temp_path(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
