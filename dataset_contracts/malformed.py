"""Malformed lines: lines of a text extract that could not be split into a row (too many or too
few fields, an unterminated quote, bytes not in the file's encoding).

One such line used to fail its whole file, and the batch then recorded 0 rows in: the good rows
were neither loaded nor quarantined. Instead each malformed line becomes a row of the batch with
no values (its contract columns are null: nothing in it can be trusted to be in its column), the
file's lineage (`_source_file`, `_period`) and, in `_conform_errors`, where it was and why:
`malformed line 7 of epma_2018-06.csv: expected 12 columns, found 13: '…the line…'`. The rule
`malformed_line` (expectations/rules.py) quarantines it by that prefix, so a batch still counts
rows in = loaded + quarantined, and a file that is mostly malformed is held by the usual threshold.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from dataset_contracts.contracts import Contract
from dataset_contracts.lineage import LINEAGE_FILE, LINEAGE_PERIOD
from dataset_contracts.sql import quote_ident, sql_literal

RULE = "malformed_line"
PREFIX = "malformed line "
# The quarantine predicate; also the GX query (expectations/rules.py). Text made by
# dataset_contracts.conform starts with a column name and a colon, never with this prefix.
# strpos, not `like`: a % in a query is a parameter marker to PostgreSQL's driver.
PREDICATE = f"strpos(_conform_errors, '{PREFIX}') = 1"
# Enough of the raw line to recognise the record; a megabyte line is not copied whole.
RAW_LIMIT = 300


@dataclass(frozen=True)
class MalformedLine:
    file: str  # the file's name, as in _source_file
    line: int  # 1-based line number in the file (the header is line 1)
    reason: str
    raw: str = ""
    period: dt.date | None = None

    @property
    def where(self) -> str:
        """Where and why, without the line's text: for logs, hold reasons and alerts, which must
        not carry patient-level values (the text stays in quarantine)."""
        return f"line {self.line} of {self.file}: {self.reason}"

    @property
    def text(self) -> str:
        raw = self.raw if len(self.raw) <= RAW_LIMIT else self.raw[:RAW_LIMIT] + "…"
        # repr: control characters and escape sequences in a broken line are shown, not obeyed
        return f"{PREFIX}{self.line} of {self.file}: {self.reason}" + (f": {raw!r}" if raw else "")


def append_malformed(con: duckdb.DuckDBPyConnection, parquet: Path, contract: Contract, lines: list[MalformedLine]) -> None:
    """Add one row per malformed line to a harmonised batch file (written beside it, then swapped in).

    Only a batch with malformed lines pays for the rewrite; the rows keep the file's order and the
    malformed ones follow them."""
    if not lines:
        return
    table = pa.table(
        {
            "file": pa.array([m.file for m in lines], pa.string()),
            "period": pa.array([m.period for m in lines], pa.date32()),
            "text": pa.array([m.text for m in lines], pa.string()),
        }
    )
    nulls = ", ".join(f"null::{c.sql_type('duckdb')} as {quote_ident(c.name)}" for c in contract.columns)
    tmp = parquet.with_suffix(".malformed.parquet")
    con.register("_malformed_lines", table)
    try:
        con.execute(
            f"copy (select * from read_parquet({sql_literal(str(parquet))}) union all by name "
            f"select {nulls}, file as {LINEAGE_FILE}, period as {LINEAGE_PERIOD}, text as _conform_errors "
            f"from _malformed_lines) to {sql_literal(str(tmp))} (format parquet)"
        )
    finally:
        con.unregister("_malformed_lines")
    tmp.replace(parquet)
