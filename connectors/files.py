"""`files`: CSV, Parquet and XLSX files from a drop folder.

Files are remembered by content hash in the source's state, so the same file is never loaded
twice and a changed file (same name, new content) becomes a new batch. A file's reporting
month comes from its name (`period_pattern`), so each row can be checked against the period
its extract claims to cover.
"""

from __future__ import annotations

import codecs
import datetime as dt
import glob
import hashlib
import re
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
from pydantic import Field

from connectors.base import LINEAGE_FILE, LINEAGE_PERIOD, Connector, ConnectorConfig, ConnectorError
from pipeline.warehouse.core import sql_literal

CHUNK = 1 << 20


class FilesConfig(ConnectorConfig):
    path: str = Field(description="glob of files to load, e.g. /drop/epma/*.csv (relative to the site config)")
    format: Literal["csv", "parquet", "xlsx"] | None = Field(default=None, description="default: from the extension")
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: Literal["utf-8", "utf-8-sig", "cp1252", "latin-1"] = "utf-8"
    quote: str = Field(default='"', min_length=1, max_length=1)
    header: bool = True
    sheet: str | None = Field(default=None, description="XLSX sheet name; default the first")
    period_pattern: str | None = Field(
        default=r"(\d{4})-(\d{2})",
        description="regex on the file name with year and month groups; the file's reporting month",
    )


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def read_header(path: Path, encoding: str, delimiter: str, quote: str) -> list[str]:
    import csv

    try:
        with open(path, encoding=encoding, newline="") as f:
            row = next(csv.reader(f, delimiter=delimiter, quotechar=quote), None)
    except UnicodeDecodeError as e:
        raise ConnectorError(f"{path.name}: line 1: bytes not valid {encoding} ({e.reason} at byte {e.start})") from None
    if row is None:
        raise ConnectorError(f"{path.name}: the file is empty (no header line)")
    return [c.strip().lstrip("\ufeff") for c in row]


class FilesConnector(Connector):
    name = "files"
    config_model = FilesConfig
    description = "CSV, Parquet or XLSX files from a drop folder, remembered by content hash"
    config: FilesConfig

    def _files(self) -> list[Path]:
        pattern = str(self.resolve_path(self.config.path))
        return sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())

    def _format(self, path: Path) -> str:
        if self.config.format:
            return self.config.format
        ext = path.suffix.lower().lstrip(".")
        if ext in ("csv", "txt", "tsv"):
            return "csv"
        if ext in ("parquet", "pq"):
            return "parquet"
        if ext in ("xlsx", "xlsm"):
            return "xlsx"
        raise ConnectorError(f"{path.name}: cannot tell the format from the extension; set `format`")

    def _period(self, path: Path) -> dt.date | None:
        if not self.config.period_pattern:
            return None
        m = re.search(self.config.period_pattern, path.name)
        if not m:
            return None
        try:
            return dt.date(int(m.group(1)), int(m.group(2)), 1)
        except (ValueError, IndexError):
            return None

    def pending(self) -> list[tuple[Path, str]]:
        """Files not yet loaded with their current content; in a backfill, every file of the period."""
        loaded: dict = self.ctx.state.get("files", {})
        out = []
        for path in self._files():
            if self.ctx.period is not None:
                month = self._period(path)
                first, last = self.ctx.period
                if month is None or not (first <= month <= last):
                    continue
                out.append((path, file_sha256(path)))
                continue
            digest = file_sha256(path)
            if loaded.get(path.name) != digest:
                out.append((path, digest))
        return out

    def relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation | None:
        files = self._files()
        if not files:
            raise ConnectorError(f"{self.describe()}: no files match {self.resolve_path(self.config.path)}")
        pending = self.pending()
        if not pending:
            return None
        formats = {self._format(p) for p, _ in pending}
        if len(formats) > 1:
            raise ConnectorError(f"{self.describe()}: mixed file formats {sorted(formats)} in one source")
        fmt = formats.pop()
        for path, digest in pending:
            self.update_checksum(f"{path.name}:{digest}\n")
            self.sources.append(path.name)
        state_files = dict(self.ctx.state.get("files", {}))
        state_files.update({p.name: d for p, d in pending})
        self.new_state = {**self.ctx.state, "files": state_files}
        paths = [p for p, _ in pending]
        if fmt == "csv":
            rel = self._csv(con, paths)
        elif fmt == "parquet":
            import pyarrow.parquet as pq

            for p in paths:
                self.file_columns[p.name] = [self.config.columns.get(c, c) for c in pq.read_schema(p).names]
            rel = con.read_parquet([str(p) for p in paths], filename=True, union_by_name=True)
        else:
            rel = self._xlsx(con, paths)
        return self._with_lineage(con, rel, paths)

    # -- formats ----------------------------------------------------------------------------
    def _csv(self, con: duckdb.DuckDBPyConnection, paths: list[Path]) -> duckdb.DuckDBPyRelation:
        cfg = self.config
        readable = []
        for p in paths:
            header = read_header(p, "utf-8-sig" if cfg.encoding == "utf-8" else cfg.encoding, cfg.delimiter, cfg.quote)
            self.file_columns[p.name] = [cfg.columns.get(c, c) for c in header]
            readable.append(self._transcoded(p) if cfg.encoding in ("cp1252", "latin-1") else p)
        self._read_as = {str(r): p for r, p in zip(readable, paths)}
        files = "[" + ", ".join(sql_literal(str(p)) for p in readable) + "]"
        return con.sql(
            f"select * from read_csv({files}, header={str(cfg.header).lower()}, all_varchar=true, "
            f"delim={sql_literal(cfg.delimiter)}, quote={sql_literal(cfg.quote)}, "
            "filename=true, union_by_name=true)"
        )

    def _transcoded(self, path: Path) -> Path:
        """DuckDB reads UTF-8; re-encode a cp1252/latin-1 export into scratch space first."""
        work = self.ctx.work_dir or path.parent
        work.mkdir(parents=True, exist_ok=True)
        out = work / f"{path.stem}.utf8{path.suffix}"
        decoder = codecs.getincrementaldecoder(self.config.encoding)(errors="strict")
        offset = 0
        with open(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(CHUNK):
                try:
                    dst.write(decoder.decode(chunk))
                except UnicodeDecodeError as e:
                    raise ConnectorError(
                        f"{path.name}: bytes not valid {self.config.encoding} at byte {offset + e.start}"
                    ) from None
                offset += len(chunk)
            dst.write(decoder.decode(b"", final=True))
        return out

    def _xlsx(self, con: duckdb.DuckDBPyConnection, paths: list[Path]) -> duckdb.DuckDBPyRelation:
        from openpyxl import load_workbook

        tables = []
        for p in paths:
            wb = load_workbook(p, read_only=True, data_only=True)
            ws = wb[self.config.sheet] if self.config.sheet else wb.worksheets[0]
            rows = ws.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                raise ConnectorError(f"{p.name}: the sheet {ws.title!r} is empty")
            names = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
            self.file_columns[p.name] = [self.config.columns.get(c, c) for c in names]
            cols: list[list] = [[] for _ in names]
            for row in rows:
                for i in range(len(names)):
                    v = row[i] if i < len(row) else None
                    cols[i].append(None if v is None else (v.isoformat(sep=" ") if isinstance(v, dt.datetime) else str(v)))
            wb.close()
            t = pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, cols)})
            tables.append(t.append_column("filename", pa.array([str(p)] * t.num_rows, pa.string())))
        self._xlsx_table = pa.concat_tables(tables, promote_options="default")
        return con.from_arrow(self._xlsx_table)

    def _with_lineage(
        self, con: duckdb.DuckDBPyConnection, rel: duckdb.DuckDBPyRelation, paths: list[Path]
    ) -> duckdb.DuckDBPyRelation:
        by_name = {str(p): p for p in paths} | getattr(self, "_read_as", {})
        file_case = " ".join(f"when {sql_literal(k)} then {sql_literal(v.name)}" for k, v in by_name.items())
        period_case = " ".join(
            f"when {sql_literal(k)} then date {sql_literal(self._period(v).isoformat())}"
            for k, v in by_name.items()
            if self._period(v)
        )
        renames = self.config.columns
        cols = [c for c in rel.columns if c != "filename"]
        select = [f'"{c}" as "{renames.get(c, c)}"' for c in cols]
        select.append(f"case filename {file_case} end as {LINEAGE_FILE}")
        select.append(f"case filename {period_case} end as {LINEAGE_PERIOD}" if period_case else f"null::date as {LINEAGE_PERIOD}")
        return rel.project(", ".join(select))
