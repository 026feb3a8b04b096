"""Valid submission packages made from synthetic frames, for the collector's tests.

Built only from the agreed format (`package.py`) and keys (`keys.py`), not from the site's
submit code, so the collector is tested against the format itself. A test breaks a package by
changing one thing before or after it is signed.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.federation import keys
from pipeline.federation.package import KINDS, MANIFEST, SIGNATURE, FileEntry, Manifest, manifest_bytes, package_name, sha256
from benefits.evaluate import add_months
from pipeline.federation.versions import contract_versions, measure_versions

MEASURES = ("ae_4h_performance", "delayed_critical_doses_rate")
DATASETS = ("ae_monthly", "medication_administrations")
_DEFAULT = {"varchar": "x", "double": 1.0, "bigint": 1, "boolean": False, "date": dt.date(2025, 1, 1),
            "timestamp": dt.datetime(2025, 1, 1)}  # fmt: skip


def months(first: str, last: str) -> list[dt.date]:
    y, m = map(int, first.split("-"))
    cur, end = dt.date(y, m, 1), dt.date(*map(int, last.split("-")), 1)
    out = []
    while cur <= end:
        out.append(cur)
        cur = add_months(cur, 1)
    return out


def _fy(d: dt.date) -> tuple[str, int]:
    start = d.year if d.month >= 4 else d.year - 1
    return f"{start}/{str(start + 1)[-2:]}", (d.month - 4) % 12 // 3 + 1


def frames(site: str, first: str, last: str, *, base: float = 100.0) -> dict[str, pd.DataFrame]:
    """One synthetic row set per kind, every count well above any threshold."""
    ms = months(first, last)
    measures = []
    for code in MEASURES:
        for i, m in enumerate(ms):
            fy, q = _fy(m)
            num, den = base + i, 2 * base + i
            measures.append({"site_code": site, "measure_code": code, "period_type": "month", "period_start": m,
                             "financial_year": fy, "financial_quarter": q, "months": 1, "numerator": num,
                             "denominator": den, "value": num / den, "suppressed": False, "suppression_reason": None})  # fmt: skip
    benefits = []
    for m in ms:
        row = {c: _DEFAULT[t] for c, t in KINDS["benefits"].columns.items()}
        row.update(site_code=site, benefit_id="B1", measure_code=MEASURES[0], scope="national", as_of_month=m,
                   is_latest=m == ms[-1], latest_suppressed=False, latest_value=base / 1000)  # fmt: skip
        benefits.append(row)
    spc = []
    for i, m in enumerate(ms):
        row = {c: _DEFAULT[t] for c, t in KINDS["benefit_spc"].columns.items()}
        row.update(site_code=site, benefit_id="B1", measure_code=MEASURES[0], month=m, numerator=base + i,
                   denominator=2 * base, value=(base + i) / (2 * base), suppressed=False)  # fmt: skip
        spc.append(row)
    dq_rows, dq_rules = [], []
    for d in DATASETS:
        for m in ms:
            dq_rows.append({"site_code": site, "dataset": d, "month": m, "batches": 1, "rows_in": 1000,
                            "rows_loaded": 990, "rows_quarantined": 10})  # fmt: skip
            for rule, rate in (("completeness", 1.0), ("validity", 0.9)):
                dq_rules.append({"site_code": site, "dataset": d, "month": m, "rule": rule, "checks": 10,
                                 "checks_passed": int(10 * rate), "pass_rate": rate})  # fmt: skip
    unplanned = []
    for code in MEASURES[1:]:  # a signal on the measure no benefit covers, from the package's first month
        row = {c: _DEFAULT[t] for c, t in KINDS["unplanned"].columns.items()}
        row.update(site_code=site, measure_code=code, first_month=ms[0], last_month=ms[-1], months=len(ms),
                   baseline_mean=base / (2 * base), signal_mean=(base + 1) / (2 * base), ongoing=True,
                   scanned_to=ms[-1], covered_from=None)  # fmt: skip
        unplanned.append(row)
    return {"measures": pd.DataFrame(measures), "benefits": pd.DataFrame(benefits), "benefit_spc": pd.DataFrame(spc),
            "dq_rows": pd.DataFrame(dq_rows), "dq_rules": pd.DataFrame(dq_rules),
            "unplanned": pd.DataFrame(unplanned)}  # fmt: skip


def parquet_bytes(kind: str, frame: pd.DataFrame) -> bytes:
    spec = KINDS[kind]
    table = pa.Table.from_pandas(frame[list(spec.columns)], schema=spec.schema, preserve_index=False)
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def make_manifest(site: str, first: str, last: str, created: dt.datetime, files: dict[str, bytes],
                  rows: dict[str, int]) -> Manifest:
    entries = [FileEntry(name=KINDS[k].file, kind=k, rows=rows[k], bytes=len(b), sha256=sha256(b)) for k, b in files.items()]
    return Manifest(site_code=site, first_month=first, last_month=last,
                    created_at=created.strftime("%Y-%m-%dT%H:%M:%SZ"), software_version="test",
                    suppression_threshold=7, contract_versions=contract_versions(),
                    measure_versions=measure_versions(), files=entries)  # fmt: skip


def write_package(inbox: Path, key, site: str, first: str, last: str, created: dt.datetime, *,
                  data: dict[str, pd.DataFrame] | None = None, edit=None, signed: bool = True) -> Path:
    """Write a package folder into `inbox`; `edit(manifest)` may change the manifest before signing."""
    data = data if data is not None else frames(site, first, last)
    files = {k: parquet_bytes(k, f) for k, f in data.items()}
    manifest = make_manifest(site, first, last, created, files, {k: len(f) for k, f in data.items()})
    if edit is not None:
        manifest = edit(manifest) or manifest
    folder = inbox / package_name(site, first, last, created.replace(tzinfo=dt.timezone.utc))
    folder.mkdir(parents=True)
    for k, b in files.items():
        (folder / KINDS[k].file).write_bytes(b)
    raw = manifest_bytes(manifest)
    (folder / MANIFEST).write_bytes(raw)
    if signed:
        (folder / SIGNATURE).write_bytes(keys.sign(key, raw))
    return folder


def resign(folder: Path, key) -> None:
    """Sign the folder's manifest again after a test changed it (a tampering site with a valid key)."""
    (folder / SIGNATURE).write_bytes(keys.sign(key, (folder / MANIFEST).read_bytes()))


def site_keys(home: Path, sites: list[str]) -> tuple[dict, Path]:
    """A private key per site and a registry file with their public keys."""
    private, lines = {}, []
    for s in sites:
        lines.append(f"{s} {keys.init_key(home, s)}")
        private[s] = keys.load_private(home, s)
    registry = home / "registry.txt"
    registry.write_text("\n".join(lines) + "\n", encoding="ascii")
    return private, registry
