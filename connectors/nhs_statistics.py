"""`nhs_statistics`: NHS England's monthly A&E attendances and emergency admissions CSV -> `ae_monthly`.

The publication has one row per organisation and month, with a column per measure and
department type (`A&E attendances Type 1`, `Attendances over 4hrs Other Department`,
`Emergency admissions via A&E - Type 2`, ...), a `Period` like `MSitAE-MARCH-2024`, and a
`TOTAL` row for England. This connector reads it from a URL or from files (a glob), drops the
total, and turns each organisation's row into one row per department type it reports (a type
whose three figures are all blank is not reported). Files are remembered by content hash, so
the same publication is not loaded twice. Column names are matched loosely (case, spacing,
dashes, "Other Department" vs "Other A&E Department") because they have varied over the years.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import Field, model_validator

from connectors.base import LINEAGE_FILE, LINEAGE_PERIOD, Connector, ConnectorConfig, ConnectorError
from connectors.files import check_utf8, file_sha256
from connectors.http import HttpClient, display_url
from dataset_contracts.sql import sql_literal

MONTHS = (
    "JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE",
    "JULY", "AUGUST", "SEPTEMBER", "OCTOBER", "NOVEMBER", "DECEMBER",
)  # fmt: skip
_TYPE = r"(type 1|type 2|other (?:a&e )?department)"
MEASURES = {
    "attendances": re.compile(rf"^a&e attendances {_TYPE}$"),
    "booked_attendances": re.compile(rf"^a&e attendances booked appointments {_TYPE}$"),
    "breaches_4h": re.compile(rf"^attendances over 4 ?hrs {_TYPE}$"),
    "booked_breaches_4h": re.compile(rf"^attendances over 4 ?hrs booked appointments {_TYPE}$"),
    "emergency_admissions": re.compile(rf"^emergency admissions via a&e {_TYPE}$"),
}
REQUIRED = ("attendances", "breaches_4h", "emergency_admissions")
DEPT_TYPES = {"type 1": "1", "type 2": "2"}


def normalise(name: str) -> str:
    text = name.replace("\ufeff", "").lower().replace("-", " ").replace("_", " ")
    return " ".join(text.split())


class NhsStatisticsConfig(ConnectorConfig):
    path: str | None = Field(default=None, description="glob of downloaded monthly CSVs (relative to the site config)")
    url: str | None = Field(default=None, description="URL of a monthly CSV on the NHS England statistics site")
    encoding: Literal["utf-8", "utf-8-sig", "cp1252"] = Field(default="utf-8", description="CSV text encoding")
    include_booked: bool = Field(
        default=False, description="add booked appointments to attendances and 4-hour breaches (2019 onwards)"
    )

    @model_validator(mode="after")
    def _path_or_url(self):
        if bool(self.path) == bool(self.url):
            raise ValueError("give exactly one of `path` or `url`")
        return self


class NhsStatisticsConnector(Connector):
    name = "nhs_statistics"
    dataset = "ae_monthly"
    config_model = NhsStatisticsConfig
    description = "NHS England's monthly A&E attendances and emergency admissions CSV, from a URL or files"
    handles_period = True
    incremental_by = "content hash of each file"
    reprocesses = True
    fetch_options = Connector.fetch_options | {"path", "url"}
    config: NhsStatisticsConfig

    def source_label(self) -> str:
        return display_url(self.config.url) if self.config.url else str(self.config.path)

    @property
    def incremental(self) -> bool:
        return True  # by content hash

    def _files(self) -> list[tuple[Path, str]]:
        """(local file, name it is remembered by)."""
        if self.config.url:
            client = HttpClient(self, None, {"Accept": "text/csv, */*"})
            try:
                response = client.get(self.config.url, what="download the publication")
            finally:
                client.close()
            name = Path(response.url.split("?")[0]).name or "publication.csv"
            local = self.scratch("download") / name
            local.write_bytes(response.content)
            return [(local, name)]
        import glob

        pattern = str(self.resolve_path(self.config.path))
        found = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
        if not found:
            raise ConnectorError(f"no files match {pattern}")
        return [(p, p.name) for p in found]

    def _columns(self, path: Path, name: str, encoding: str) -> tuple[list[str], str, str, dict[str, dict[str, str]]]:
        try:
            with open(path, encoding=encoding, newline="") as f:
                header = next(csv.reader(f), None)
        except UnicodeDecodeError as e:
            raise ConnectorError(f"{name}: line 1: bytes not valid {encoding} ({e.reason})") from None
        if not header:
            raise ConnectorError(f"{name}: the file is empty (no header line)")
        header = [h.strip().lstrip("\ufeff") for h in header]
        norm = {normalise(h): h for h in header}
        period = norm.get("period")
        org = norm.get("org code")
        found = _measure_columns(norm)
        missing = [label for label, col in (("Period", period), ("Org Code", org)) if col is None]
        missing += _missing_measures(found)
        if missing:
            raise ConnectorError(
                f"{name}: not the A&E monthly publication's layout: no column for {', '.join(missing)} "
                f"(header: {', '.join(header[:8])}{', ...' if len(header) > 8 else ''})"
            )
        return header, period, org, found

    def open_relation(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation | None:
        loaded = self.state.get("files", {}) if self.ctx.period is None and not self.ctx.reprocess else {}
        pending = []
        for path, name in self._files():
            digest = self.call(file_sha256, path, what=f"read {name}")
            if loaded.get(name) != digest:
                pending.append((path, name, digest))
        if not pending:
            return None
        selects = []
        for path, name, digest in pending:
            if path.stat().st_size == 0:
                raise ConnectorError(f"{name}: the file is empty (0 bytes)")
            encoding = "utf-8-sig" if self.config.encoding.startswith("utf-8") else self.config.encoding
            if encoding == "utf-8-sig":
                self.call(check_utf8, path, what=f"read {name}")
            header, period, org, found = self._columns(path, name, encoding)
            self.update_checksum(f"{name}:{digest}\n")
            self.sources.append(name)
            selects.append(self._select(path, name, header, period, org, found))
        rel = con.sql(" union all ".join(selects))
        self._check_periods(rel)
        if self.ctx.period is not None:
            first, last = self.ctx.period
            rel = rel.filter(f"period between date '{first.replace(day=1)}' and date '{last}'")
        if self.ctx.period is None:
            files = dict(self.ctx.state.get("files", {}))
            files.update({name: digest for _, name, digest in pending})
            self.new_state = {**self.ctx.state, "files": files}
        return rel

    def _select(self, path: Path, name: str, header: list[str], period: str, org: str, found: dict) -> str:
        readable = path
        if self.config.encoding == "cp1252":
            readable = self.scratch("transcoded") / f"{path.stem}.utf8.csv"
            readable.write_text(path.read_text(encoding="cp1252"), encoding="utf-8")
        columns = "{" + ", ".join(f"{sql_literal(h)}: 'VARCHAR'" for h in header) + "}"
        src = (
            f"read_csv({sql_literal(str(readable))}, header=true, auto_detect=false, columns={columns}, "
            "delim=',', quote='\"', escape='\"')"
        )

        def num(col: str | None) -> str:
            if col is None:
                return "null"
            q = '"' + col.replace('"', '""') + '"'
            return f"nullif(nullif(replace(trim({q}), ',', ''), ''), '-')"

        def plus(a: str, b: str) -> str:
            return f"case when {a} is null and {b} is null then null else cast(coalesce(try_cast({a} as bigint), 0) + coalesce(try_cast({b} as bigint), 0) as varchar) end"

        month = "case upper(split_part(trim(p), '-', 2)) " + " ".join(
            f"when '{m}' then {i + 1}" for i, m in enumerate(MONTHS)
        ) + " end"
        period_expr = (
            f"coalesce(make_date(try_cast(split_part(trim(p), '-', 3) as integer), {month}, 1), "
            "cast(date_trunc('month', try_cast(trim(p) as date)) as date))"
        )
        q_org = '"' + org.replace('"', '""') + '"'
        q_period = '"' + period.replace('"', '""') + '"'
        parts = []
        for dept in ("1", "2", "other"):
            att = num(found["attendances"][dept])
            br = num(found["breaches_4h"][dept])
            adm = num(found["emergency_admissions"][dept])
            if self.config.include_booked:
                att = plus(att, num(found["booked_attendances"].get(dept)))
                br = plus(br, num(found["booked_breaches_4h"].get(dept)))
            parts.append(
                f"select {period_expr} as period, trim({q_org}) as org_code, '{dept}' as dept_type, "
                f"{att} as attendances, {br} as breaches_4h, {adm} as emergency_admissions, "
                f"{sql_literal(name)} as {LINEAGE_FILE}, p as _period_text "
                f"from (select *, {q_period} as p from {src}) s "
                f"where upper(trim({q_org})) <> 'TOTAL' and trim(coalesce({q_org}, '')) <> '' "
                f"and not ({att} is null and {br} is null and {adm} is null)"
            )
        return "select period, org_code, dept_type, attendances, breaches_4h, emergency_admissions, " \
               f"{LINEAGE_FILE}, period as {LINEAGE_PERIOD}, _period_text from (" + " union all ".join(parts) + ")"

    def _check_periods(self, rel: duckdb.DuckDBPyRelation) -> None:
        bad = rel.filter("period is null").limit(1).fetchall()
        if bad:
            row = dict(zip(rel.columns, bad[0]))
            raise ConnectorError(
                f"{row[LINEAGE_FILE]}: Period {row['_period_text']!r} is not like MSitAE-MARCH-2024"
            )


def _measure_columns(norm: dict[str, str]) -> dict[str, dict[str, str]]:
    """Per measure, the header column of each department type (normalised header -> header as written)."""
    found: dict[str, dict[str, str]] = {m: {} for m in MEASURES}
    for key, original in norm.items():
        for measure, pattern in MEASURES.items():
            m = pattern.match(key)
            if m:
                found[measure][DEPT_TYPES.get(m.group(1), "other")] = original
    return found


def _missing_measures(found: dict[str, dict[str, str]]) -> list[str]:
    return [
        f"{measure.replace('_', ' ')} ({'type ' + dept if dept != 'other' else 'other'})"
        for measure in REQUIRED
        for dept in ("1", "2", "other")
        if dept not in found[measure]
    ]
