"""`files`: CSV, Parquet and XLSX files from a drop folder.

Files are remembered by content hash in the source's state, so the same file is never loaded
twice and a changed file (same name, new content) becomes a new batch. A file's reporting
month comes from its name (`period_pattern`), so each row can be checked against the period
its extract claims to cover.

DuckDB reads CSV and Parquet itself (parallel, no Python per row). Each CSV is read with the
header this module parsed (no dialect guessing), and a line DuckDB cannot split into a row (too
many or too few fields, an unterminated quote, bytes that are not UTF-8) is set aside in a
rejects table instead of failing the file: the good rows flow on, and `malformed_lines` hands
the bad ones, with file, line and reason, to harmonise, which makes them rows of the batch for
the `malformed_line` rule to quarantine (dataset_contracts/malformed.py). Encodings: UTF-8 (a BOM
is fine), cp1252 and latin-1 (re-encoded to UTF-8 in scratch space first, in chunks); a line of
a UTF-8 file with bytes in another encoding is named with the byte and a hint. An empty file (0
bytes, or a header and no rows) adds nothing and is named in a warning (`empty_files`).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import glob
import hashlib
import io
import logging
import re
import uuid
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow as pa
from pydantic import Field

from connectors.base import LINEAGE_FILE, LINEAGE_PERIOD, Connector, ConnectorConfig, ConnectorError
from connectors.batches import normalise_batch
from connectors.spool import Spool
from dataset_contracts.malformed import MalformedLine
from dataset_contracts.sql import sql_literal

log = logging.getLogger(__name__)

CHUNK = 1 << 20
ENCODING_HINT = "the file may be cp1252 (as Excel saves CSV): set `encoding: cp1252`"


class FilesConfig(ConnectorConfig):
    path: str = Field(description="glob of files to load, e.g. /drop/epma/*.csv (relative to the site config)")
    format: Literal["csv", "parquet", "xlsx"] | None = Field(default=None, description="default: from the extension")
    delimiter: str = Field(default=",", min_length=1, max_length=1, description="CSV field delimiter")
    encoding: Literal["utf-8", "utf-8-sig", "cp1252", "latin-1"] = Field(
        default="utf-8", description="CSV text encoding; a UTF-8 byte-order mark is always accepted"
    )
    quote: str = Field(default='"', min_length=1, max_length=1, description="CSV quote character")
    header: bool = Field(default=True, description="the first CSV line names the columns")
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


def check_utf8(path: Path) -> None:
    """Fail with the line number of the first byte sequence that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    offset, lines = 0, 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                line = lines + chunk.count(b"\n", 0, e.start) + 1
                bad = chunk[e.start : e.start + 1].hex()
                raise ConnectorError(
                    f"{path.name}: line {line}: bytes not valid utf-8 (0x{bad} at byte {offset + e.start}); {ENCODING_HINT}"
                ) from None
            lines += chunk.count(b"\n")
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ConnectorError(f"{path.name}: line {lines + 1}: the file ends inside a utf-8 character") from None


def read_header(path: Path, encoding: str, delimiter: str, quote: str, header: bool = True) -> list[str]:
    # Only the header line is decoded here: bad bytes further down are DuckDB's to find, with
    # their own line number.
    with open(path, "rb") as f:
        first = f.readline()
    try:
        text = first.decode(encoding)
    except UnicodeDecodeError as e:
        raise ConnectorError(f"{path.name}: line 1: bytes not valid {encoding} ({e.reason} at byte {e.start})") from None
    try:
        row = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote), None)
    except csv.Error as e:
        raise ConnectorError(f"{path.name}: line 1: cannot read the header ({e})") from None
    if row is None:
        raise ConnectorError(f"{path.name}: the file is empty (no header line)")
    if not header:
        return [f"column_{i + 1}" for i in range(len(row))]
    names = [c.strip().lstrip("\ufeff") for c in row]
    blank = [i + 1 for i, n in enumerate(names) if not n]
    if blank:
        raise ConnectorError(f"{path.name}: line 1: header column {blank[0]} has no name")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConnectorError(f"{path.name}: line 1: the header repeats {', '.join(repr(d) for d in dupes)}")
    return names


def _blank(path: Path) -> bool:
    """0 bytes, or nothing but blank space (and perhaps a byte-order mark)."""
    size = path.stat().st_size
    if size > 4096:
        return False
    return not path.read_bytes().removeprefix(codecs.BOM_UTF8).strip()


def _header_only(path: Path) -> bool:
    """A file with a header line and nothing but blank space after it."""
    with open(path, "rb") as f:
        f.readline()
        rest = f.read(4096)
        return not rest.strip() and not f.read(1)


def _bad_byte(path: Path, position: int | None) -> str:
    """` (0xe9 at byte N)`: the first byte that is not UTF-8 on the line DuckDB rejected; '' if not found."""
    if position is None:
        return ""
    # DuckDB's offset of the line is sometimes one byte past its start: read from one byte before.
    start = max(0, int(position) - 1)
    with open(path, "rb") as f:
        f.seek(start)
        window = f.read(64 * 1024)
    if window[:1] == b"\n":
        start, window = start + 1, window[1:]
    window = window.split(b"\n", 1)[0]
    try:
        window.decode("utf-8")
    except UnicodeDecodeError as e:
        return f" (0x{window[e.start:e.start + 1].hex()} at byte {start + e.start})"
    return ""


class FilesConnector(Connector):
    name = "files"
    config_model = FilesConfig
    description = "CSV, Parquet or XLSX files from a drop folder, remembered by content hash"
    handles_period = True
    incremental_by = "content hash of each file"
    reprocesses = True
    # where the files are is not what their rows become; a moved drop folder reloads nothing
    fetch_options = Connector.fetch_options | {"path"}
    config: FilesConfig

    def source_label(self) -> str:
        return str(self.config.path)

    @property
    def incremental(self) -> bool:
        return True  # by content hash: a file already loaded is not loaded again

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
        loaded: dict = {} if self.ctx.reprocess else self.ctx.state.get("files", {})
        out = []
        for path in self._files():
            if self.ctx.period is not None:
                month = self._period(path)
                first, last = self.ctx.period
                if month is None or not (first <= month <= last):
                    continue
                out.append((path, self.call(file_sha256, path, what=f"read {path.name}")))
                continue
            digest = self.call(file_sha256, path, what=f"read {path.name}")
            if loaded.get(path.name) != digest:
                out.append((path, digest))
        return out

    def open_relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation | None:
        files = self._files()
        if not files:
            raise ConnectorError(f"no files match {self.resolve_path(self.config.path)}")
        pending = self.pending()
        if not pending:
            return None
        if self.ctx.limit is not None:
            pending = pending[:1]
        formats = {self._format(p) for p, _ in pending}
        if len(formats) > 1:
            raise ConnectorError(f"mixed file formats {sorted(formats)} in one source")
        read = {"csv": self._csv, "parquet": self._parquet, "xlsx": self._xlsx}[formats.pop()]
        for path, digest in pending:
            self.update_checksum(f"{path.name}:{digest}\n")
            self.sources.append(path.name)
        paths = [p for p, _ in pending]
        rel = self._with_lineage(con, read(con, paths), paths)
        if self.ctx.limit is not None:
            rel = rel.limit(self.ctx.limit)
            self.truncated = True
        self._remember(pending)
        return rel

    def _remember(self, pending: list[tuple[Path, str]]) -> None:
        """The state after this extract: each file loaded, by content hash (a trial run remembers none)."""
        if self.truncated:
            self.new_state = dict(self.ctx.state)
            return
        state_files = dict(self.ctx.state.get("files", {}))
        state_files.update({p.name: d for p, d in pending})
        self.new_state = {**self.ctx.state, "files": state_files}

    # -- formats ----------------------------------------------------------------------------
    def _parquet(self, con: duckdb.DuckDBPyConnection, paths: list[Path]) -> duckdb.DuckDBPyRelation:
        import pyarrow.parquet as pq

        for p in paths:
            try:
                names = pq.read_schema(p).names
            except (pa.ArrowInvalid, OSError) as e:
                raise ConnectorError(f"{p.name}: not a readable Parquet file ({e})") from None
            self.file_columns[p.name] = [self.config.columns.get(c, c) for c in names]
        return con.read_parquet([str(p) for p in paths], filename=True, union_by_name=True)

    def _csv(self, con: duckdb.DuckDBPyConnection, paths: list[Path]) -> duckdb.DuckDBPyRelation:
        self._read_as: dict[str, Path] = {}
        # rejects table -> {the file DuckDB read: (the file as delivered, the file DuckDB read)}
        self._rejects: dict[str, dict[str, tuple[Path, Path]]] = {}
        self.empty_files = []
        tag = uuid.uuid4().hex[:8]
        scans = []
        for i, (header, files) in enumerate(self._csv_by_header(paths).items()):
            rejects = f"_rejects_{tag}_{i}"
            self._rejects[rejects] = {str(readable): (p, readable) for p, readable in files}
            scans.append(self._csv_scan(header, [readable for _, readable in files], rejects))
        if not scans:
            # Every file was empty: a relation of no rows with the contract's columns, so the batch
            # goes on (and is recorded) as 0 rows instead of failing.
            names = [c.name for c in self.contract.columns]
            cols = ", ".join(f'null::varchar as "{c}"' for c in names)
            for p in paths:
                self.file_columns[p.name] = names
            return con.sql(f"select {cols}, null::varchar as filename where false")
        return con.sql(" union all by name ".join(scans))

    def _csv_by_header(self, paths: list[Path]) -> dict[tuple[str, ...], list[tuple[Path, Path]]]:
        """The files with rows, grouped by header: (the file as delivered, the UTF-8 file DuckDB reads)."""
        cfg = self.config
        by_header: dict[tuple[str, ...], list[tuple[Path, Path]]] = {}
        for p in paths:
            if _blank(p):
                self._empty(p, "0 bytes" if p.stat().st_size == 0 else "no header, only blank space")
                continue
            if cfg.encoding in ("utf-8", "utf-8-sig"):
                # Lines with bytes that are not UTF-8 are DuckDB's rejects; `malformed_lines` names them.
                readable = p
            else:
                readable = self._transcoded(p)
            header = read_header(readable, "utf-8-sig", cfg.delimiter, cfg.quote, cfg.header)
            if cfg.header and _header_only(readable):
                self._empty(p, "a header and no rows")
                continue
            self.file_columns[p.name] = [cfg.columns.get(c, c) for c in header]
            self._read_as[str(readable)] = p
            by_header.setdefault(tuple(header), []).append((p, readable))
        return by_header

    def _csv_scan(self, header: tuple[str, ...], readables: list[Path], rejects: str) -> str:
        # One scan per header, not one per file: DuckDB gives every scan its own read buffers,
        # and a union of a few dozen monthly files ran out of the 1 GB memory limit (and read
        # at half the speed). The header is parsed here, so DuckDB need not sniff; a line it
        # cannot split goes to the rejects table (file and line number) and the rest is read.
        cfg = self.config
        columns = "{" + ", ".join(f"{sql_literal(c)}: 'VARCHAR'" for c in header) + "}"
        listed = "[" + ", ".join(sql_literal(str(readable)) for readable in readables) + "]"
        return (
            f"select * from read_csv({listed}, header={str(cfg.header).lower()}, "
            f"auto_detect=false, columns={columns}, delim={sql_literal(cfg.delimiter)}, "
            f"quote={sql_literal(cfg.quote)}, escape={sql_literal(cfg.quote)}, filename=true, "
            f"store_rejects=true, rejects_table={sql_literal(rejects)}, rejects_scan={sql_literal(rejects + '_scan')})"
        )

    def _empty(self, path: Path, what: str) -> None:
        # ingest and `benefits extract` name it in their warnings; this says what it held
        self.empty_files.append(path.name)
        log.debug("%s: %s: the file is empty (%s)", self.describe(), path.name, what)

    def malformed_lines(self, con: duckdb.DuckDBPyConnection) -> list[MalformedLine]:
        """The lines DuckDB could not split into rows, one per line, once the relation has been read.

        A rejects table gathers every scan of the file (harmonise samples it before the full
        read), so a line can be listed more than once; it is one malformed line."""
        out: list[MalformedLine] = []
        for table, files in getattr(self, "_rejects", {}).items():
            try:
                found = con.execute(
                    f"select s.file_path, e.line, min(e.line_byte_position), first(e.error_type order by e.column_idx), "
                    f"first(e.error_message order by e.column_idx), first(e.csv_line order by e.column_idx) "
                    f"from {table} e join {table}_scan s using (scan_id, file_id) "
                    f"group by s.file_path, e.line order by s.file_path, e.line"
                ).fetchall()
            except duckdb.CatalogException:
                continue  # the files were never scanned (nothing read from the relation)
            for path, line, position, kind, message, raw in found:
                original, readable = files[path]
                period = self._period(original)
                raw = (raw or "").strip("\r\n")
                reason = self._reject_reason(kind, message, readable, position)
                if spans := raw.count("\n"):
                    # an open quote takes the next lines into its value: say which lines became one row
                    reason += f" (read as one row with the next {spans} line{'s' if spans > 1 else ''}, to line {line + spans})"
                out.append(MalformedLine(original.name, int(line), reason, raw, period))
        return out

    def _reject_reason(self, kind: str, message: str, readable: Path, position: int | None) -> str:
        """DuckDB's reason for rejecting a line, in the words the connector used when it failed the file."""
        m = re.search(r"Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)", message or "")
        if m:
            return f"expected {m.group(1)} columns, found {m.group(2)}"
        if "ENCODING" in (kind or "").upper() or "unicode" in (message or "").lower():
            return f"bytes not valid utf-8{_bad_byte(readable, position)}; {ENCODING_HINT}"
        text = (message or kind or "cannot be read").strip().splitlines()[0].rstrip(".")
        return text[:1].lower() + text[1:]

    def diagnose(self, exc: BaseException) -> ConnectorError | None:
        """DuckDB raised about bytes that are not UTF-8 (a line with them is normally set aside as a
        malformed line; this covers what store_rejects does not): re-read the files for the exact
        line and byte (a full pass over each file, so only once DuckDB has said one is bad)."""
        if "unicode" not in str(exc).lower() or self.config.encoding not in ("utf-8", "utf-8-sig"):
            return None
        for original in getattr(self, "_read_as", {}).values():
            try:
                check_utf8(original)
            except ConnectorError as err:
                return self.as_connector_error(err)
            except OSError:
                return None
        return None

    def _transcoded(self, path: Path) -> Path:
        """DuckDB reads UTF-8; re-encode a cp1252/latin-1 export into scratch space first."""
        if not hasattr(self, "_transcode_dir"):
            self._transcode_dir = self.scratch("transcoded")
        out = self._transcode_dir / f"{path.stem}.utf8{path.suffix}"
        decoder = codecs.getincrementaldecoder(self.config.encoding)(errors="strict")
        offset, lines = 0, 0
        with open(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(CHUNK):
                try:
                    dst.write(decoder.decode(chunk))
                except UnicodeDecodeError as e:
                    line = lines + chunk.count(b"\n", 0, e.start) + 1
                    raise ConnectorError(
                        f"{path.name}: line {line}: bytes not valid {self.config.encoding} "
                        f"(0x{chunk[e.start:e.start + 1].hex()} at byte {offset + e.start})"
                    ) from None
                offset += len(chunk)
                lines += chunk.count(b"\n")
            dst.write(decoder.decode(b"", final=True))
        return out

    def _xlsx(self, con: duckdb.DuckDBPyConnection, paths: list[Path]) -> duckdb.DuckDBPyRelation:
        """Sheets stream row by row (openpyxl read-only) into bounded Parquet parts."""
        from openpyxl import load_workbook

        spool = Spool(self.scratch("xlsx"))
        for p in paths:
            try:
                wb = load_workbook(p, read_only=True, data_only=True)
            except Exception as e:  # noqa: BLE001 - openpyxl raises many types for a bad file
                raise ConnectorError(f"{p.name}: not a readable XLSX workbook ({type(e).__name__}: {e})") from None
            try:
                self._spool_sheet(spool, p, self._sheet(p, wb))
            finally:
                wb.close()
        return con.read_parquet([str(x) for x in spool.close()], union_by_name=True)

    def _sheet(self, path: Path, wb):
        sheet = self.config.sheet
        if sheet and sheet not in wb.sheetnames:
            raise ConnectorError(f"{path.name}: no sheet {sheet!r}; sheets: {', '.join(wb.sheetnames)}")
        return wb[sheet] if sheet else wb.worksheets[0]

    def _spool_sheet(self, spool: Spool, path: Path, ws) -> None:
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ConnectorError(f"{path.name}: the sheet {ws.title!r} is empty")
        names = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        self.file_columns[path.name] = [self.config.columns.get(c, c) for c in names]
        cols: list[list] = [[] for _ in names]
        for row in rows:
            if row is None or all(v is None for v in row):
                continue
            for i, col in enumerate(cols):
                col.append(_cell_text(row[i] if i < len(row) else None))
            if len(cols[0]) >= self.config.batch_size:
                _spool_columns(spool, path, names, cols)
        if cols[0] or not spool.parts:
            _spool_columns(spool, path, names, cols)

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


def _cell_text(v) -> str | None:
    return None if v is None else (v.isoformat(sep=" ") if isinstance(v, dt.datetime) else str(v))


def _spool_columns(spool: Spool, path: Path, names: list[str], cols: list[list]) -> None:
    """The rows gathered so far, as text, to the spool (with the file they came from); the lists are emptied."""
    t = {n: pa.array(c, pa.string()) for n, c in zip(names, cols)}
    t["filename"] = pa.array([str(path)] * len(cols[0]), pa.string())
    spool.write(normalise_batch(pa.RecordBatch.from_pydict(t)))
    for c in cols:
        c.clear()
