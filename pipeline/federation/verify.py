"""Check one submission package before anything of it reaches the national warehouse.

Every check that fails adds a one-line reason naming the file, row or field, so the site can
fix it from its receipt alone. The checks run in trust order: nothing a package says is
believed before its signature verifies with a key registered for the site, and no file is
parsed before its bytes match the signed manifest.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import posixpath
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from benefits.evaluate import add_months
from pipeline.federation.keys import verify as verify_signature
from pipeline.federation.package import (
    FORMAT,
    KINDS,
    MANIFEST,
    MAX_FILE_BYTES,
    MAX_MANIFEST_BYTES,
    SIGNATURE,
    Manifest,
    parse_name,
    safe_file_name,
    sha256,
)
from pipeline.federation.versions import contract_versions, measure_versions
from pipeline.marts.disclosure_windows import shown_over_withheld

# Per kind: the column that dates a row, and the columns that (with site_code) identify it.
PERIOD = {"measures": "period_start", "benefits": "as_of_month", "benefit_spc": "month", "dq_rows": "month",
          "dq_rules": "month", "unplanned": "first_month"}  # fmt: skip
KEYS = {
    "measures": ("measure_code", "period_type", "period_start"),
    "benefits": ("benefit_id", "as_of_month"),
    "benefit_spc": ("benefit_id", "month"),
    "dq_rows": ("dataset", "month"),
    "dq_rules": ("dataset", "month", "rule"),
    "unplanned": ("measure_code", "first_month"),
}
_PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass
class Checked:
    name: str
    manifest: Manifest | None = None
    tables: dict[str, pa.Table] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons and self.manifest is not None


def month_start(text: str) -> dt.date:
    year, month = text.split("-")
    return dt.date(int(year), int(month), 1)


def check_package(fs, folder: str, registry: dict[str, list[Ed25519PublicKey]], *, threshold: int,
                  today: dt.date) -> Checked:
    """Check the package in `folder` (a path on the fsspec filesystem `fs`)."""
    checked = Checked(posixpath.basename(folder.rstrip("/")))
    try:
        _check(fs, folder.rstrip("/"), registry, threshold, today, checked)
    except Exception as exc:  # noqa: BLE001  (a package must never stop the collector; say what broke)
        first = (str(exc).strip().splitlines() or [""])[0]
        checked.reasons.append(f"package could not be checked: {type(exc).__name__}: {first}")
    if checked.reasons:
        checked.tables = {}
    return checked


def _check(fs, folder: str, registry, threshold: int, today: dt.date, out: Checked) -> None:
    name = parse_name(out.name)
    if name is None:
        out.reasons.append(f"folder name {out.name!r} is not <ODS>-<YYYY-MM>-<YYYY-MM>-<YYYYMMDDTHHMMSSZ>")
    manifest, raw = _read_manifest(fs, folder, out)
    if manifest is None:
        return
    if not _signature_ok(fs, folder, manifest.site_code, raw, registry, out):
        return  # nothing an unsigned manifest says is worth checking further
    out.manifest = manifest
    _check_header(manifest, name, today, threshold, out)
    for kind, table in _read_files(fs, folder, manifest, out).items():
        out.tables[kind] = table
    if out.reasons:
        return
    first, last = month_start(manifest.first_month), month_start(manifest.last_month)
    for kind, table in out.tables.items():
        _check_rows(kind, table.to_pandas(), manifest, first, last, threshold, out)
    if not out.reasons and "benefits" in out.tables and "benefit_spc" in out.tables:
        _check_windows(out.tables["benefits"].to_pandas(), out.tables["benefit_spc"].to_pandas(), out)


def _read_manifest(fs, folder: str, out: Checked) -> tuple[Manifest | None, bytes]:
    path = f"{folder}/{MANIFEST}"
    if not fs.exists(path):
        out.reasons.append(f"{MANIFEST} is missing")
        return None, b""
    size = fs.size(path)
    if size is None or size > MAX_MANIFEST_BYTES:
        out.reasons.append(f"{MANIFEST} is {size} bytes, more than the {MAX_MANIFEST_BYTES} allowed")
        return None, b""
    raw = fs.cat_file(path)
    if len(raw) > MAX_MANIFEST_BYTES:  # the size may have been listed before it grew
        out.reasons.append(f"{MANIFEST} is more than the {MAX_MANIFEST_BYTES} bytes allowed")
        return None, b""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        out.reasons.append(f"{MANIFEST} is not JSON ({exc})")
        return None, raw
    try:
        return Manifest.model_validate(data), raw
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        out.reasons.append(f"{MANIFEST} field {where}: {e['msg']} ({len(exc.errors())} problem(s) in all)")
        return None, raw


def _signature_ok(fs, folder: str, site: str, raw: bytes, registry, out: Checked) -> bool:
    path = f"{folder}/{SIGNATURE}"
    if not fs.exists(path):
        out.reasons.append(f"{SIGNATURE} is missing")
        return False
    sig = fs.cat_file(path)
    keys = registry.get(site)
    if not keys:
        out.reasons.append(f"site {site} in {MANIFEST} has no registered public key (unknown site)")
        return False
    if verify_signature(keys, sig, raw):
        return True
    signer = next((s for s, k in sorted(registry.items()) if s != site and verify_signature(k, sig, raw)), None)
    if signer:
        out.reasons.append(f"{SIGNATURE} was made with the key of site {signer}, not of {site} named in {MANIFEST}")
    else:
        out.reasons.append(f"{SIGNATURE} does not verify {MANIFEST} with any key registered for {site}")
    return False


@functools.lru_cache(maxsize=1)
def _own_versions() -> tuple[dict[str, str], dict[str, str]]:
    # Read once per process: they are this software's own files, and a collect reads hundreds of packages.
    return contract_versions(), measure_versions()


def _check_header(m: Manifest, name, today: dt.date, threshold: int, out: Checked) -> None:
    if m.format != FORMAT:
        out.reasons.append(f"{MANIFEST} field format: {m.format!r} is not {FORMAT!r}, the format this collector reads")
    if name is not None:
        for what, folder_value, manifest_value in (
            ("site", name.site, m.site_code), ("first month", name.first, m.first_month),
            ("last month", name.last, m.last_month),
        ):  # fmt: skip
            if folder_value != manifest_value:
                out.reasons.append(f"folder name says {what} {folder_value}, {MANIFEST} says {manifest_value}")
        try:
            created = dt.datetime.fromisoformat(m.created_at.replace("Z", "+00:00"))
            if created.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") != name.created:
                out.reasons.append(f"folder name says created {name.created}, {MANIFEST} created_at {m.created_at}")
        except ValueError:
            out.reasons.append(f"{MANIFEST} field created_at: {m.created_at!r} is not an ISO 8601 time")
    try:
        first, last = month_start(m.first_month), month_start(m.last_month)
    except ValueError:
        out.reasons.append(f"{MANIFEST} fields first_month/last_month: {m.first_month}/{m.last_month} is not a month")
        return
    if first > last:
        out.reasons.append(f"{MANIFEST}: first_month {m.first_month} is after last_month {m.last_month}")
    if last > today.replace(day=1):
        out.reasons.append(f"{MANIFEST} field last_month: {m.last_month} is in the future (today is {today})")
    if m.suppression_threshold < threshold:
        out.reasons.append(f"{MANIFEST} field suppression_threshold: {m.suppression_threshold} is below the national "
                           f"threshold {threshold}")  # fmt: skip
    contracts, measures = _own_versions()
    for field_name, declared, ours in (("contract_versions", m.contract_versions, contracts),
                                       ("measure_versions", m.measure_versions, measures)):  # fmt: skip
        for code, version in sorted(declared.items()):
            if code not in ours:
                out.reasons.append(f"{MANIFEST} {field_name}: {code!r} is not known to this collector")
            elif version != ours[code]:
                out.reasons.append(f"{MANIFEST} {field_name}: {code} version {version[:12]} is not this collector's "
                                   f"({ours[code][:12]}); upgrade the software so both sides compute it the same way")  # fmt: skip


def _read_files(fs, folder: str, m: Manifest, out: Checked) -> dict[str, pa.Table]:
    listed = {}
    for entry in m.files:
        problem = _entry_problem(entry, listed)
        if problem:
            out.reasons.append(problem)
        else:
            listed[entry.kind] = entry
    # Every kind, even with no rows: a newer package replaces the site's rows for its months, so
    # a file left out would silently delete what an earlier package sent.
    for kind_name in KINDS:
        if kind_name not in listed and not any(e.kind == kind_name for e in m.files):
            out.reasons.append(f"{MANIFEST} lists no {kind_name} file; a package carries every kind, empty if need be")
    present = {posixpath.basename(p.rstrip("/")) for p in fs.ls(folder, detail=False)}
    for extra in sorted(present - {MANIFEST, SIGNATURE} - {e.name for e in m.files}):
        out.reasons.append(f"{extra} is in the package but not listed in {MANIFEST}")
    tables = {}
    for kind_name, entry in listed.items():
        table, problem = _read_file(fs, folder, entry, present)
        if problem:
            out.reasons.append(problem)
        else:
            tables[kind_name] = table
    return tables


def _entry_problem(entry, listed: dict) -> str | None:
    """What is wrong with one file the manifest lists (its name, its kind, a kind listed twice), if anything."""
    if not safe_file_name(entry.name):
        return f"{MANIFEST} names file {entry.name!r}: only a plain <kind>.parquet name is allowed"
    kind = KINDS.get(entry.kind)
    if kind is None:
        return f"{MANIFEST} file {entry.name}: kind {entry.kind!r} is not one of {', '.join(KINDS)}"
    if entry.name != kind.file:
        return f"{MANIFEST} file {entry.name}: a {entry.kind} file must be named {kind.file}"
    if entry.kind in listed:
        return f"{MANIFEST} lists kind {entry.kind} more than once"
    return None


def _read_file(fs, folder: str, entry, present: set[str]) -> tuple[pa.Table | None, str | None]:
    """(the file's table, None), or (None, the first way it differs from what the manifest says)."""
    path = f"{folder}/{entry.name}"
    if entry.name not in present:
        return None, f"{entry.name} is listed in {MANIFEST} but missing"
    size = fs.size(path)
    if size > MAX_FILE_BYTES:
        return None, f"{entry.name} is {size} bytes, more than the {MAX_FILE_BYTES} allowed"
    data = fs.cat_file(path)
    if not data and entry.bytes > 0:
        return None, f"{entry.name} is empty; {MANIFEST} says {entry.bytes} bytes"
    if len(data) != entry.bytes:
        return None, f"{entry.name} is {len(data)} bytes; {MANIFEST} says {entry.bytes}"
    if sha256(data) != entry.sha256:
        return None, f"{entry.name}: sha256 does not match {MANIFEST} (the file changed after signing)"
    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        return None, f"{entry.name} is not a readable Parquet file ({str(exc).splitlines()[0][:200]})"
    if table.num_rows != entry.rows:
        return None, f"{entry.name} has {table.num_rows} rows; {MANIFEST} says {entry.rows}"
    got = [(f.name, f.type) for f in table.schema]
    want = [(f.name, f.type) for f in KINDS[entry.kind].schema]
    if got != want:
        return None, f"{entry.name}: {_schema_difference(got, want)}"
    return table, None


def _schema_difference(got: list[tuple], want: list[tuple]) -> str:
    got_d, want_d = dict(got), dict(want)
    extra = [c for c in got_d if c not in want_d]
    if extra:
        return f"column {extra[0]} is not in the package format"
    missing = [c for c in want_d if c not in got_d]
    if missing:
        return f"column {missing[0]} is missing"
    for c, t in want:
        if got_d[c] != t:
            return f"column {c} is {got_d[c]}, expected {t}"
    return "columns are not in the package format's order (" + ", ".join(c for c, _ in want) + ")"


def _row_label(kind: str, frame: pd.DataFrame, i: int) -> str:
    row = frame.iloc[i]
    key = ", ".join(f"{c} {_text(row[c])}" for c in KEYS[kind])
    return f"{KINDS[kind].file} row {i + 1} ({key})"


def _text(v) -> str:
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    return v.isoformat() if isinstance(v, dt.date) else str(v)


def _first(mask: pd.Series) -> int | None:
    hits = mask.fillna(False).to_numpy().nonzero()[0]
    return int(hits[0]) if len(hits) else None


def _check_rows(kind: str, frame: pd.DataFrame, m: Manifest, first: dt.date, last: dt.date, threshold: int,
                out: Checked) -> None:
    if frame.empty:
        return
    i = _first(frame["site_code"] != m.site_code)
    if i is not None:
        out.reasons.append(f"{_row_label(kind, frame, i)}: site_code {frame['site_code'].iloc[i]} is not the "
                           f"package's site {m.site_code}")  # fmt: skip
    i = _first(frame.duplicated(list(KEYS[kind]), keep="first"))
    if i is not None:
        out.reasons.append(f"{_row_label(kind, frame, i)}: the same row appears more than once")
    _check_periods(kind, frame, first, last, out)
    if kind in ("measures", "unplanned"):  # a local measure's figures or signals never travel
        i = _first(~frame["measure_code"].isin(list(m.measure_versions)))
        if i is not None:
            out.reasons.append(f"{_row_label(kind, frame, i)}: measure {frame['measure_code'].iloc[i]} has no "
                               f"version in {MANIFEST} measure_versions")  # fmt: skip
    if kind == "measures":
        _check_disclosure(kind, frame, "suppressed", ("numerator", "denominator"), ("numerator", "denominator", "value"),
                          threshold, out)  # fmt: skip
    elif kind == "benefit_spc":
        _check_disclosure(kind, frame, "suppressed", ("numerator", "denominator"), ("numerator", "denominator", "value"),
                          threshold, out)  # fmt: skip
    elif kind == "benefits":
        _check_disclosure(kind, frame, "latest_suppressed", (), ("latest_value", "change_abs", "change_pct"),
                          threshold, out)  # fmt: skip


def _check_periods(kind: str, frame: pd.DataFrame, first: dt.date, last: dt.date, out: Checked) -> None:
    col = PERIOD[kind]
    start = pd.to_datetime(frame[col]).dt.date
    if start.isna().any():
        out.reasons.append(f"{_row_label(kind, frame, _first(start.isna()))}: {col} is empty")
        return
    if (start.map(lambda d: d.day) != 1).any():
        i = _first(start.map(lambda d: d.day) != 1)
        out.reasons.append(f"{_row_label(kind, frame, i)}: {col} is not the first day of a month")
        return
    if kind == "measures":
        span = frame["period_type"].map(_PERIOD_MONTHS)
        i = _first(span.isna())
        if i is not None:
            out.reasons.append(f"{_row_label(kind, frame, i)}: period_type {frame['period_type'].iloc[i]!r} is not "
                               "month, quarter or year")  # fmt: skip
            return
        # A quarter or year counts when it overlaps the package's months (a package may end mid-quarter).
        end = [add_months(d, int(n) - 1) for d, n in zip(start, span)]
        outside = pd.Series([s > last or e < first for s, e in zip(start, end)], index=frame.index)
    elif kind in ("benefit_spc", "unplanned"):
        # A chart runs back to its baseline, and a signal found now may start before the package's months.
        outside = start > last
    else:
        outside = (start < first) | (start > last)
    i = _first(outside)
    if i is not None:
        out.reasons.append(f"{_row_label(kind, frame, i)}: {col} {_text(start.iloc[i])} is outside the package's "
                           f"months {first:%Y-%m} to {last:%Y-%m}")  # fmt: skip


def _check_disclosure(kind: str, frame: pd.DataFrame, flag: str, counts: tuple[str, ...], withheld: tuple[str, ...],
                      threshold: int, out: Checked) -> None:
    """Re-check the site's disclosure control: a small count must be withheld, and a withheld
    row must carry no figures (a value is a count divided by another, so it gives the count away)."""
    suppressed = frame[flag].fillna(False).astype(bool)
    for c in counts:
        small = pd.to_numeric(frame[c], errors="coerce").between(1, threshold) & ~suppressed
        i = _first(small)
        if i is not None:
            out.reasons.append(f"{_row_label(kind, frame, i)}: {c} {frame[c].iloc[i]:g} is from 1 to the threshold "
                               f"{threshold} but not withheld ({flag} is false)")  # fmt: skip
            return
    for c in withheld:
        shown = frame[c].notna() & suppressed
        i = _first(shown)
        if i is not None:
            out.reasons.append(f"{_row_label(kind, frame, i)}: {flag} is true but {c} is given")
            return


def _check_windows(fact: pd.DataFrame, spc: pd.DataFrame, out: Checked) -> None:
    """Re-check the window rule: no mean, limit or running total over a month the SPC points withhold."""
    shown = shown_over_withheld(fact, spc)
    if shown is not None:
        which, i, column = shown
        kind, frame = ("benefits", fact) if which == "fact" else ("benefit_spc", spc)
        out.reasons.append(f"{_row_label(kind, frame, i)}: {column} is given, but it is computed over a month the "
                           "package withholds")  # fmt: skip
