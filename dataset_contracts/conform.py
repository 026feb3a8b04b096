"""Harmonise an extract onto its dataset contract: schema drift, local codes, types.

Runs in the in-process DuckDB engine over the connector's relation and writes the batch as
typed Parquet in the landing area. Nothing is dropped here: a value that does not parse as
its contract type becomes null *and* is described in `_conform_errors` (with the original
text), so the conformance rule can quarantine the row with its original value. Unmapped
local codes pass through unchanged so the value-set and mapping rules can name them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dataset_contracts.contracts import Contract
from dataset_contracts.lineage import LINEAGE_FILE, LINEAGE_PERIOD
from dataset_contracts.malformed import MalformedLine, append_malformed
from dataset_contracts.safe_text import NUL_SHOWN_AS
from dataset_contracts.sql import quote_ident, sql_literal

# Source types that carry a contract type without loss.
_COMPATIBLE = {
    "varchar": ("VARCHAR",),
    "bigint": ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "HUGEINT"),
    "double": ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "DECIMAL"),
    "boolean": ("BOOLEAN",),
    "date": ("DATE",),
    "timestamp": ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE", "DATE"),
}


@dataclass
class DriftFinding:
    kind: str  # missing_column | new_column | retyped_column
    column: str
    message: str
    severity: str  # fatal | warning
    file: str | None = None

    @property
    def rule(self) -> str:
        return f"schema_{self.kind}:{self.column}"


@dataclass
class Harmonised:
    path: Path
    rows: int
    months: list = field(default_factory=list)
    drift: list[DriftFinding] = field(default_factory=list)
    # lines the reader could not split into a row; they are rows of the batch too (counted in `rows`)
    malformed: list[MalformedLine] = field(default_factory=list)

    @property
    def held_by_drift(self) -> list[DriftFinding]:
        return [d for d in self.drift if d.severity == "fatal"]


def detect_drift(
    contract: Contract, columns: dict[str, str], file_columns: dict[str, list[str]], fill: set[str]
) -> list[DriftFinding]:
    """Compare what arrived with the contract, in words a site developer can act on.

    `columns` maps each delivered column to its DuckDB type; `file_columns` lists each source
    file's own columns (so a column missing from one file of many is still found).
    """
    expected = {c.name: c for c in contract.columns}
    findings: list[DriftFinding] = []
    for file, cols in (file_columns or {None: list(columns)}).items():
        findings += _missing_columns(expected, cols, fill, file)
        findings += _new_columns(contract, expected, cols, file)
    return findings + _retyped_columns(expected, columns)


def _missing_columns(expected: dict, cols: list[str], fill: set[str], file: str | None) -> list[DriftFinding]:
    where = f"{file}: " if file else ""
    return [
        DriftFinding(
            "missing_column",
            name,
            f"{where}missing column {name!r} (expected {col.type}"
            + (", required); the batch is held" if col.required else ", optional); filled with nulls"),
            "fatal" if col.required else "warning",
            file,
        )
        for name, col in expected.items()
        if name not in cols and name not in fill
    ]


def _new_columns(contract: Contract, expected: dict, cols: list[str], file: str | None) -> list[DriftFinding]:
    where = f"{file}: " if file else ""
    return [
        DriftFinding(
            "new_column",
            name,
            f"{where}new column {name!r} is not in the {contract.name} contract; it is ignored",
            "warning",
            file,
        )
        for name in cols
        if name not in expected and not name.startswith("_")
    ]


def _retyped_columns(expected: dict, columns: dict[str, str]) -> list[DriftFinding]:
    """A text source (every column VARCHAR) has no types to drift; its values are parsed in conforming."""
    if all(t == "VARCHAR" for n, t in columns.items() if not n.startswith("_")):
        return []
    return [
        DriftFinding(
            "retyped_column",
            name,
            f"column {name!r}: expected {expected[name].type}, got {src_type}; values are converted where possible "
            "and the rest quarantined",
            "warning",
        )
        for name, src_type in columns.items()
        if name in expected and src_type.split("(")[0].upper() not in _COMPATIBLE[expected[name].type]
    ]


def _mapping_case(expr: str, mapping: dict) -> str:
    whens = " ".join(
        f"when {sql_literal(str(k))} then {sql_literal(str(v).lower() if isinstance(v, bool) else str(v))}"
        for k, v in mapping.items()
    )
    return f"case {expr} {whens} else {expr} end"


def _raw_expr(col, src_type: str | None, mappings: dict, site_code: str, contract: Contract) -> str:
    """The delivered value of a contract column, trimmed and mapped to national codes, untyped."""
    if src_type is None:
        return sql_literal(site_code) if (col.name == "site_code" and contract.site_column == "site_code") else "null"
    # A NUL byte cannot be stored in PostgreSQL (its COPY would fail the batch): shown as ␀, which the
    # `_is_safe_text` rule then quarantines (dataset_contracts/safe_text.py).
    # Replaced only in a value that has one: `replace` copies every string it is given, and on
    # 10M rows of 12 text columns that copy was a quarter of harmonise's CPU (issue 18).
    name, nul = quote_ident(col.name), f"chr({ord(NUL_SHOWN_AS)})"
    expr = (
        f"nullif(trim(if(contains({name}, chr(0)), replace({name}, chr(0), {nul}), {name})), '')"
        if src_type == "VARCHAR"
        else name
    )
    mapping = mappings.get(col.name)
    if isinstance(mapping, dict) and mapping:
        expr = _mapping_case(f"cast({expr} as varchar)", mapping)
    return expr


def _typed_expr(col, raw: str, formats: dict[str, str]) -> str:
    duck_type = col.sql_type("duckdb")
    if col.name in formats and col.type in ("timestamp", "date"):
        return f"cast(try_strptime(cast({raw} as varchar), {sql_literal(formats[col.name])}) as {duck_type})"
    return f"try_cast({raw} as {duck_type})"


SAMPLE_ROWS = 10_000


def detect_text_retyping(
    con: duckdb.DuckDBPyConnection,
    contract: Contract,
    columns: dict[str, str],
    mappings: dict,
    site_code: str,
    formats: dict[str, str] | None = None,
) -> list[DriftFinding]:
    """A text extract (CSV) whose column no longer holds its contract type: found on a sample.

    CSV columns all arrive as text, so a retyped column shows only in its values: when fewer
    than half of the sampled non-empty values parse as the contract type, the column has most
    likely changed meaning or format (not just a few bad rows). Runs on relation `src`.
    """
    formats = formats or {}
    checked = [c for c in contract.columns if c.type != "varchar" and c.name in columns]
    if not checked:
        return []
    raws = ", ".join(f"{_raw_expr(c, columns[c.name], mappings, site_code, contract)} as {quote_ident(c.name)}" for c in checked)
    counts = ", ".join(f"count({quote_ident(c.name)}), count({_typed_expr(c, quote_ident(c.name), formats)})" for c in checked)
    row = con.execute(f"select {counts} from (select {raws} from (select * from src limit {SAMPLE_ROWS}))").fetchone()
    findings = []
    for i, col in enumerate(checked):
        present, parsed = row[2 * i], row[2 * i + 1]
        if present and parsed * 2 < present:
            findings.append(
                DriftFinding(
                    "retyped_column",
                    col.name,
                    f"column {col.name!r}: expected {col.type}, got text that mostly does not parse as {col.type} "
                    f"({parsed:,} of {present:,} sampled values do); values are converted where possible "
                    "and the rest quarantined",
                    "warning",
                )
            )
    return findings


def conform_sql(
    contract: Contract,
    columns: dict[str, str],
    mappings: dict,
    site_code: str,
    formats: dict[str, str] | None = None,
) -> str:
    """SQL over relation `src` returning contract columns, typed, plus lineage and `_conform_errors`."""
    formats = formats or {}
    raw_exprs, typed_exprs, errors = [], [], []
    for col in contract.columns:
        expr = _raw_expr(col, columns.get(col.name), mappings, site_code, contract)
        raw = f"{col.name}__raw"
        raw_exprs.append(f"{expr} as {raw}")
        typed_exprs.append(f"{_typed_expr(col, raw, formats)} as {col.name}")
        errors.append(
            f"case when {raw} is not null and {col.name} is null then "
            f"'{col.name}: ''' || cast({raw} as varchar) || ''' is not a {col.type}' end"
        )
    period_src = LINEAGE_PERIOD if LINEAGE_PERIOD in columns else "null::date"
    file_src = LINEAGE_FILE if LINEAGE_FILE in columns else "null::varchar"
    contract_cols = ", ".join(c.name for c in contract.columns)
    raw_cols = ", ".join(f"{c.name}__raw" for c in contract.columns)
    return f"""
with raw as (
  select {', '.join(raw_exprs)}, {period_src} as _p, {file_src} as _f from src
), typed as (
  select {', '.join(typed_exprs)}, {raw_cols}, _p, _f from raw
)
select {contract_cols},
  _f as {LINEAGE_FILE},
  cast(coalesce(_p, date_trunc('month', {contract.period_column})) as date) as {LINEAGE_PERIOD},
  nullif(concat_ws('; ', {', '.join(errors)}), '') as _conform_errors
from typed
"""


def harmonise(
    con: duckdb.DuckDBPyConnection,
    rel: duckdb.DuckDBPyRelation,
    contract: Contract,
    *,
    site_code: str,
    mappings: dict,
    file_columns: dict[str, list[str]],
    out_path: Path,
    formats: dict[str, str] | None = None,
    malformed: Callable[[duckdb.DuckDBPyConnection], list[MalformedLine]] | None = None,
) -> Harmonised:
    """Write the batch as typed Parquet at `out_path`. `malformed` (a connector's
    `malformed_lines`) is asked, once the extract has been read, for the lines it could not
    split into rows; they are added to the batch as rows of their own
    (dataset_contracts/malformed.py)."""
    columns = {c: str(t) for c, t in zip(rel.columns, rel.types)}
    fill = {"site_code"} if contract.site_column == "site_code" else set()
    drift = detect_drift(contract, columns, file_columns, fill)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".partial.parquet")
    con.register("src", rel)
    try:
        if all(t == "VARCHAR" for n, t in columns.items() if not n.startswith("_")):
            drift += detect_text_retyping(con, contract, columns, mappings, site_code, formats)
        sql = conform_sql(contract, columns, mappings, site_code, formats)
        con.execute(f"copy ({sql}) to {sql_literal(str(tmp))} (format parquet)")
        bad = malformed(con) if malformed is not None else []
        append_malformed(con, tmp, contract, bad)
    finally:
        con.unregister("src")
    tmp.replace(out_path)
    path = sql_literal(str(out_path))
    rows = con.execute(f"select count(*) from read_parquet({path})").fetchone()[0]
    months = [
        r[0]
        for r in con.execute(
            f"select distinct {LINEAGE_PERIOD} from read_parquet({path}) where {LINEAGE_PERIOD} is not null order by 1"
        ).fetchall()
    ]
    return Harmonised(out_path, rows, months, drift, bad)
