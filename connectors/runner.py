"""Run one connector on its own, without a warehouse: `benefits extract` and the test kit.

The output has exactly the contract's columns, typed, conformed the same way the pipeline
conforms a batch (dataset_contracts.conform), so what a site developer sees here is what the warehouse
would load. DuckDB streams the connector's relation to Parquet; nothing is held whole in memory.
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from connectors.base import LINEAGE_FILE, Connector, ConnectorError, ExtractContext
from connectors.registry import get_connector
from dataset_contracts.sql import sql_literal

log = logging.getLogger(__name__)

_CSV_LINE = re.compile(r"CSV Error on Line:\s*(\d+)", re.I)
_EXPECTED = re.compile(r"Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)", re.I)


@dataclass
class ExtractRun:
    connector: Connector
    rows: int = 0
    output: Path | None = None
    table: pa.Table | None = None  # conformed rows (contract columns + _conform_errors, lineage)
    conform_errors: int = 0  # rows with a value that did not parse, malformed lines included
    warnings: list[str] = field(default_factory=list)
    malformed: list = field(default_factory=list)  # dataset_contracts.malformed.MalformedLine, one per line

    @property
    def new_state(self) -> dict:
        return self.connector.new_state

    @property
    def truncated(self) -> bool:
        return self.connector.truncated


def resolve_dataset(cls: type[Connector], dataset: str | None) -> str:
    if cls.contract_spec is not None:
        return cls.contract_spec.name
    chosen = cls.dataset or dataset
    if not chosen:
        raise ConnectorError(f"connector {cls.name!r} can produce any dataset: say which (--dataset NAME)")
    if cls.dataset and dataset and dataset != cls.dataset:
        raise ConnectorError(f"connector {cls.name!r} produces {cls.dataset}, not {dataset}")
    return chosen


def explain_duckdb_error(exc: BaseException, connector: Connector) -> ConnectorError:
    """DuckDB's reading errors in a site developer's words: file name, line, what was wrong."""
    if (precise := connector.diagnose(exc)) is not None:
        return precise
    text = str(exc)
    files = dict(getattr(connector, "_read_as", {}) or {})
    name = None
    for path, original in sorted(files.items(), key=lambda kv: -len(kv[0])):
        if path in text:
            name = original.name
            text = text.replace(path, original.name)
    if name is None:
        for source in connector.sources:
            if source in text:
                name = source
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    parts = []
    if (m := _CSV_LINE.search(text)) is not None:
        parts.append(f"line {m.group(1)}")
    if (m := _EXPECTED.search(text)) is not None:
        parts.append(f"malformed row: expected {m.group(1)} columns, found {m.group(2)}")
    elif "unicode" in text.lower():
        parts.append("bytes not valid in the file's encoding")
    else:
        parts.append(first.removeprefix("Invalid Input Error: "))
    where = f"{name}: " if name else ""
    return ConnectorError(connector.redact(f"{connector.describe()}: {where}{': '.join(parts)}"))


def run_connector(
    connector: str | type[Connector],
    config: dict,
    *,
    dataset: str | None = None,
    state: dict | None = None,
    output: Path | None = None,
    limit: int | None = None,
    site_code: str | None = None,
    mappings: dict | None = None,
    work_dir: Path | None = None,
    base_dir: Path | None = None,
    period=None,
    source_name: str = "extract",
    collect: bool = False,
    faults: list[BaseException] | None = None,
) -> ExtractRun:
    """Extract with one connector and conform the rows to its contract.

    With `output`, writes exactly the contract's columns to that Parquet file; with `collect`,
    also returns the conformed rows as an Arrow table (small extracts: tests). Raises
    ConnectorError (naming the source) for anything that stops the extract.
    """
    cls = get_connector(connector) if isinstance(connector, str) else connector
    ds = resolve_dataset(cls, dataset)
    with tempfile.TemporaryDirectory(prefix="benefits-extract-") as tmp:
        ctx = ExtractContext(
            site_code=site_code or "",
            dataset=ds,
            source_name=source_name,
            state=dict(state or {}),
            base_dir=base_dir,
            work_dir=work_dir or Path(tmp),
            period=period,
            limit=limit,
        )
        conn = cls(config, ctx)
        if faults:
            conn._faults.extend(faults)
        run = ExtractRun(conn)
        con = duckdb.connect()
        try:
            return _run(conn, con, run, output, collect, mappings, site_code, Path(tmp))
        except ConnectorError as err:
            err.connector = conn  # the test kit inspects retries and calls
            raise
        finally:
            con.close()
            conn.close()


def _run(conn, con, run, output, collect, mappings, site_code, tmp: Path) -> ExtractRun:
    from dataset_contracts.conform import conform_sql

    rel = conn.relation(con)
    contract = conn.contract
    if rel is None:
        if output is not None:
            _write_empty(contract, output)
            run.output = output
        return run
    columns = {c: str(t) for c, t in zip(rel.columns, rel.types)}
    run.warnings = _drift_warnings(conn, contract, columns)
    sql = conform_sql(contract, columns, mappings or {}, site_code, conn.config.formats)
    staged = _conform_to(con, conn, rel, sql, tmp / "conformed.parquet", run)
    src = f"read_parquet({sql_literal(str(staged))})"
    run.rows, run.conform_errors = con.execute(
        f"select count(*), count(_conform_errors) from {src}"
    ).fetchone()
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        cols = ", ".join(f'"{c}"' for c in contract.column_names)
        con.execute(f"copy (select {cols} from {src}) to {sql_literal(str(output))} (format parquet)")
        run.output = output
    if collect:
        run.table = con.execute(f"select * from {src}").arrow()
        if isinstance(run.table, pa.RecordBatchReader):
            run.table = run.table.read_all()
    if LINEAGE_FILE in columns and not conn.sources:
        conn.sources = [conn.source_label()]
    return run


def _drift_warnings(conn, contract, columns: dict[str, str]) -> list[str]:
    """The drift between the source's columns and the contract as warnings; fatal drift stops the extract."""
    from dataset_contracts.conform import detect_drift

    fill = {"site_code"} if contract.site_column == "site_code" else set()
    drift = detect_drift(contract, columns, conn.file_columns, fill)
    fatal = [d.message for d in drift if d.severity == "fatal"]
    if fatal:
        raise ConnectorError(conn.redact(f"{conn.describe()}: {'; '.join(fatal)}"))
    return [d.message for d in drift]


def _conform_to(con, conn, rel, sql: str, staged: Path, run: ExtractRun) -> Path:
    """The conformed rows, malformed lines appended, written to `staged`; their warnings added to `run`."""
    from dataset_contracts.malformed import append_malformed

    con.register("src", rel)
    try:
        con.execute(f"copy ({sql}) to {sql_literal(str(staged))} (format parquet)")
        malformed = conn.malformed_lines(con)
        append_malformed(con, staged, conn.contract, malformed)
    except duckdb.Error as exc:
        raise explain_duckdb_error(exc, conn) from None
    finally:
        con.unregister("src")
    run.malformed = malformed
    run.warnings += [m.text for m in malformed]
    run.warnings += [f"{name}: the file is empty; nothing to load from it" for name in conn.empty_files]
    return staged


def _write_empty(contract, output: Path) -> None:
    import pyarrow.parquet as pq

    output.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(contract.arrow_schema().empty_table(), output)
