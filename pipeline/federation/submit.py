"""A trust's side of federated reporting: build its package from its own warehouse and send it.

What leaves the trust is only what the national contract publishes, read from the marts that
`benefits run` built in the trust's own warehouse: the organisation-level rows of the national
measures after disclosure control (withheld counts nulled here, not just flagged), the
national-scope benefit rows, and a data-quality summary of record counts. No record-level table is
read into the package, and every file is cast to its kind's schema (package.KINDS), so a column
the contract does not name cannot travel.

Months: a package covers [first, last]. A measure row goes in when the data behind it lie wholly
inside that range: its period starts on or after `first` and ends on or before `last`, where a
quarter or year still in progress ends at the site's latest month with data (it holds nothing
later). So a finished quarter that straddles `first` is left to the package that covers it
whole, and the current financial year travels with the months reported so far.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from dataclasses import dataclass
from importlib import metadata

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dataset_contracts.contracts import CONTRACTS
from pipeline.config.sites import SiteConfig
from pipeline.federation import package as pkg
from pipeline.federation.keys import sign
from pipeline.federation.versions import contract_versions, measure_versions
from pipeline.warehouse.core import Warehouse, ident

log = logging.getLogger(__name__)

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


class SubmitError(ValueError):
    """A package that cannot be built or sent; the message names the table, month or file."""


@dataclass(frozen=True)
class Submitted:
    name: str
    url: str  # the package folder
    manifest: pkg.Manifest


# -- months ------------------------------------------------------------------------------------
def parse_month(text: str, option: str = "month") -> dt.date:
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise SubmitError(f"{option}: expected a month as YYYY-MM, got {text!r}")
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def _add_months(month: dt.date, n: int) -> dt.date:
    k = month.year * 12 + month.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def _as_date(value) -> dt.date:
    return pd.Timestamp(value).date()


def _require(wh: Warehouse, schema: str, table: str) -> None:
    if not wh.table_exists(schema, table):
        raise SubmitError(
            f"the warehouse has no {schema}.{table}: run `benefits run` first (a site builds its national rows there)"
        )


def site_months(wh: Warehouse, site: str) -> tuple[dt.date, dt.date] | None:
    """First and last month the site has national measure rows for (None: it has none)."""
    _require(wh, "measures", "disclosure_control")
    row = wh.query(
        "select min(period_start) as first, max(period_start) as last from measures.disclosure_control "
        "where group_type = 'site' and period_type = 'month' and group_code = :s",
        {"s": site},
    ).iloc[0]
    if pd.isna(row["first"]):
        return None
    return _as_date(row["first"]), _as_date(row["last"])


def resolve_months(wh: Warehouse, site: str, first: dt.date | None, last: dt.date | None) -> tuple[dt.date, dt.date]:
    held = site_months(wh, site)
    if held is None:
        raise SubmitError(f"the warehouse has no national measure rows for {site}: has `benefits run` loaded its data?")
    first, last = first or held[0], last or held[1]
    if first > last:
        raise SubmitError(f"--from {first:%Y-%m} is after --to-month {last:%Y-%m}")
    return first, last


# -- tables ------------------------------------------------------------------------------------
def _column(series: pd.Series, logical: str, arrow_type: pa.DataType, where: str) -> pa.Array:
    """One column cast to its kind's type; row by row, as the tables are small aggregates."""
    def missing(v) -> bool:
        return v is None or (not isinstance(v, (str, bytes)) and bool(pd.isna(v)))

    try:
        if logical == "varchar":
            values = [None if missing(v) else str(v) for v in series]
        elif logical == "date":
            values = [None if missing(v) else _as_date(v) for v in series]
        elif logical == "timestamp":
            values = [None if missing(v) else pd.Timestamp(v).to_pydatetime() for v in series]
        elif logical == "double":
            values = [None if missing(v) else float(v) for v in series]
        elif logical == "bigint":
            values = [None if missing(v) else int(v) for v in series]
        elif logical == "boolean":
            values = [None if missing(v) else bool(v) for v in series]
        else:
            raise SubmitError(f"{where}: unknown type {logical!r}")
        return pa.array(values, type=arrow_type)
    except (TypeError, ValueError, pa.ArrowException) as exc:
        raise SubmitError(f"{where}: cannot be read as {logical} ({exc})") from None


def to_kind(frame: pd.DataFrame, kind: str) -> pa.Table:
    """`frame` as the kind's Arrow table: exactly its columns, in order, with its types."""
    spec = pkg.KINDS[kind]
    absent = [c for c in spec.columns if c not in frame.columns]
    if absent:
        raise SubmitError(f"{kind}: the warehouse gives no column {', '.join(absent)}")
    schema = spec.schema
    arrays = [_column(frame[c], t, schema.field(c).type, f"{kind}.{c}") for c, t in spec.columns.items()]
    return pa.Table.from_arrays(arrays, schema=schema)


def _measures(wh: Warehouse, site: str, first: dt.date, last: dt.date, latest: dt.date) -> pd.DataFrame:
    frame = wh.query(
        "select group_code as site_code, measure_code, period_type, period_start, financial_year, financial_quarter, "
        "months, numerator, denominator, value, suppressed, suppression_reason from measures.disclosure_control "
        "where group_type = 'site' and group_code = :s order by measure_code, period_type, period_start",
        {"s": site},
    )
    if frame.empty:
        return frame
    starts = [_as_date(v) for v in frame["period_start"]]
    ends = [min(_add_months(s, _PERIOD_MONTHS[p] - 1), latest) for s, p in zip(starts, frame["period_type"])]
    keep = [first <= s and e <= last for s, e in zip(starts, ends)]
    frame = frame[keep].reset_index(drop=True)
    # Disclosure control only flags a withheld entry; what leaves the trust must not hold it at all.
    withheld = frame["suppressed"].astype(bool)
    for col in ("numerator", "denominator", "value"):
        frame[col] = frame[col].astype(object).where(~withheld, None)
    return frame


def _national(wh: Warehouse, kind: str, month_column: str, site: str, first: dt.date, last: dt.date) -> pd.DataFrame:
    table = pkg.KINDS[kind]
    source = {"benefits": "fact_benefit", "benefit_spc": "fact_benefit_spc"}[kind]
    _require(wh, "national", source)
    have = set(wh.columns("national", source))
    absent = [c for c in table.columns if c not in have]
    if absent:
        raise SubmitError(f"national.{source} has no column {', '.join(absent)}: run `benefits run` with this version")
    cols = ", ".join(ident(c) for c in table.columns)
    return wh.query(
        f"select {cols} from national.{source} where site_code = :s and {month_column} >= :f and {month_column} <= :l "
        f"order by benefit_id, {month_column}",
        {"s": site, "f": first, "l": last},
    )


def _held(wh: Warehouse, dataset: str) -> list[str]:
    """The row tables of a dataset (staging, quarantine) this warehouse has."""
    return [f"{schema}.{dataset}" for schema in ("staging", "quarantine") if wh.table_exists(schema, dataset)]


def _dq_rows(wh: Warehouse, site: str, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Per dataset and reporting month (the rows' `_period`): the rows held now, loaded (staging) and
    quarantined, and how many batches they came from. By reporting month rather than by batch, as one
    batch may carry years of months; and from the rows held now, so a month reloaded counts once."""
    frames = []
    for dataset in sorted(CONTRACTS):
        parts = []
        for table in _held(wh, dataset):
            loaded, quarantined = ("count(*)", "0") if table.startswith("staging.") else ("0", "count(*)")
            parts.append(
                f"select _period as month, _batch_id as batch_id, {loaded} as loaded, {quarantined} as quarantined "
                f"from {ident(table)} where _site = :s and _period >= :f and _period <= :l group by _period, _batch_id"
            )
        if not parts:
            continue
        frame = wh.query(
            "select month, count(distinct batch_id) as batches, sum(loaded) as rows_loaded, "
            f"sum(quarantined) as rows_quarantined from ({' union all '.join(parts)}) held group by month order by month",
            {"s": site, "f": first, "l": last},
        )
        frame.insert(0, "dataset", dataset)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["dataset", "month", "batches",
                                                                                    "rows_loaded", "rows_quarantined"])
    out["rows_in"] = out["rows_loaded"].astype("int64") + out["rows_quarantined"].astype("int64")
    out.insert(0, "site_code", site)
    return out


def _dq_rules(wh: Warehouse, site: str, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Per dataset, reporting month and check category: the checks run on the batches that hold the
    month's rows, and how many passed. A check on a batch of many months counts in each of them,
    so `checks` is per month; `pass_rate` is what the programme compares."""
    frames = []
    has_results = wh.table_exists("meta", "dq_result")
    for dataset in sorted(CONTRACTS):
        tables = _held(wh, dataset)
        if not tables or not has_results:
            continue
        held = " union ".join(
            f"select distinct _period as month, _batch_id as batch_id from {ident(t)} "
            "where _site = :s and _period >= :f and _period <= :l"
            for t in tables
        )
        frame = wh.query(
            "select h.month, r.category as rule, count(*) as checks, "
            "sum(case when r.passed then 1 else 0 end) as checks_passed "
            f"from ({held}) h join meta.dq_result r on r.batch_id = h.batch_id "
            "group by h.month, r.category order by h.month, r.category",
            {"s": site, "f": first, "l": last},
        )
        frame.insert(0, "dataset", dataset)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["dataset", "month", "rule",
                                                                                    "checks", "checks_passed"])
    checks = out["checks"].astype("int64")
    out["pass_rate"] = (out["checks_passed"].astype("int64") / checks.where(checks > 0)).astype(float)
    out.insert(0, "site_code", site)
    return out


def build_tables(wh: Warehouse, site: str, first: dt.date | None = None, last: dt.date | None = None) -> dict[str, pa.Table]:
    """Every kind's table for `site` over [first, last] (default: every month it has national rows
    for), cast to the kind's schema. A kind with nothing to say is an empty table, not a missing one."""
    _require(wh, "measures", "disclosure_control")
    held = site_months(wh, site)
    first, last = resolve_months(wh, site, first, last)
    latest = held[1] if held else last
    frames = {
        "measures": _measures(wh, site, first, last, latest),
        "benefits": _national(wh, "benefits", "as_of_month", site, first, last),
        "benefit_spc": _national(wh, "benefit_spc", "month", site, first, last),
        "dq_rows": _dq_rows(wh, site, first, last),
        "dq_rules": _dq_rules(wh, site, first, last),
    }
    tables = {kind: to_kind(frames[kind], kind) for kind in pkg.KINDS}
    for kind, table in tables.items():
        codes = set(table.column("site_code").to_pylist())
        if codes - {site}:
            raise SubmitError(f"{kind}: rows of {', '.join(sorted(map(str, codes - {site})))} among {site}'s")
    return tables


# -- sending -----------------------------------------------------------------------------------
DISTRIBUTION = "nhs-benefits-pipeline"


def software_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a checkout run without installing it
        return "0+unknown"


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def manifest_fields(site: SiteConfig, first: dt.date, last: dt.date, threshold: int) -> dict:
    """Everything in the manifest except its files and creation time."""
    return {
        "site_code": site.ods_code,
        "first_month": f"{first:%Y-%m}",
        "last_month": f"{last:%Y-%m}",
        "software_version": software_version(),
        "suppression_threshold": int(threshold),
        "contract_versions": contract_versions(),
        "measure_versions": measure_versions(),
        "site": pkg.SiteInfo(name=site.name, region=site.region, trust_type=site.trust_type),
    }


def shown(url: str) -> str:
    """The URL as it may be printed: without a user or password written into it."""
    return re.sub(r"^([a-z0-9+]+://)[^/@]*@", r"\1", url)


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def write_package(url: str, site: str, tables: dict[str, pa.Table], manifest_fields: dict, private_key,
                  *, now: dt.datetime | None = None) -> str:  # fmt: skip
    """Write the package into `<url>/inbox/<name>/` and return its name: the Parquet files, then
    manifest.json, then manifest.sig last, so a package without its signature is known unfinished."""
    missing = [k for k in pkg.KINDS if k not in tables]
    unknown = [k for k in tables if k not in pkg.KINDS]
    if missing or unknown:
        raise SubmitError(f"package of {site}: " + "; ".join(
            ([f"no table for {', '.join(missing)}"] if missing else [])
            + ([f"{', '.join(unknown)} not among the kinds ({', '.join(pkg.KINDS)})"] if unknown else [])))  # fmt: skip
    if manifest_fields.get("site_code", site) != site:
        raise SubmitError(f"manifest site_code {manifest_fields['site_code']!r} is not {site!r}")
    fs, root = fsspec.core.url_to_fs(url)
    created = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    inbox = _join(root, pkg.INBOX)
    # Two submissions within one second would share a name; the later one takes the next second.
    while True:
        name = pkg.package_name(site, manifest_fields["first_month"], manifest_fields["last_month"], created)
        folder = _join(inbox, name)
        if not fs.exists(folder):
            break
        created += dt.timedelta(seconds=1)
    fs.makedirs(folder, exist_ok=True)
    files = []
    for kind, spec in pkg.KINDS.items():
        table = tables[kind]
        if not table.schema.equals(spec.schema):
            raise SubmitError(f"{spec.file}: schema differs from the {kind} kind's; cast it with submit.to_kind")
        data = _parquet(table)
        fs.pipe_file(_join(folder, spec.file), data)
        files.append(pkg.FileEntry(name=spec.file, kind=kind, rows=table.num_rows, bytes=len(data), sha256=pkg.sha256(data)))
    manifest = pkg.Manifest(
        **{**manifest_fields, "site_code": site},
        created_at=created.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        files=files,
    )
    body = pkg.manifest_bytes(manifest)
    fs.pipe_file(_join(folder, pkg.MANIFEST), body)
    fs.pipe_file(_join(folder, pkg.SIGNATURE), sign(private_key, body))
    log.info("wrote package %s (%d files)", name, len(files))
    return name


def submit(wh: Warehouse, site: SiteConfig, url: str, private_key, *, threshold: int,
           first: dt.date | None = None, last: dt.date | None = None) -> Submitted:  # fmt: skip
    """Build the site's package from its warehouse and write it to `url`."""
    first, last = resolve_months(wh, site.ods_code, first, last)
    tables = build_tables(wh, site.ods_code, first, last)
    fields = manifest_fields(site, first, last, threshold)
    name = write_package(url, site.ods_code, tables, fields, private_key)
    manifest = read_manifest(url, name)
    return Submitted(name, _join(shown(url), pkg.INBOX, name), manifest)


def read_manifest(url: str, name: str, folder: str = pkg.INBOX) -> pkg.Manifest:
    fs, root = fsspec.core.url_to_fs(url)
    path = _join(root, folder, name, pkg.MANIFEST)
    try:
        return pkg.Manifest.model_validate_json(fs.cat_file(path))
    except FileNotFoundError:
        raise SubmitError(f"{path}: no manifest") from None


def receipts(url: str, site: str) -> list[pkg.Receipt]:
    """The collector's receipts for `site`'s packages, newest first. A receipt that cannot be read
    is logged with its file name and left out: one bad file must not hide the others."""
    fs, root = fsspec.core.url_to_fs(url)
    folder = _join(root, pkg.RECEIPTS)
    fs.invalidate_cache()  # object stores list from a cache; a receipt may have arrived since
    try:
        paths = fs.glob(_join(folder, f"{site}-*.json"))
    except FileNotFoundError:
        return []
    out = []
    for path in paths:
        parsed = pkg.parse_name(path.rsplit("/", 1)[-1].removesuffix(".json"))
        if parsed is None or parsed.site != site:
            continue
        try:
            receipt = pkg.Receipt.model_validate_json(fs.cat_file(path))
        except (ValueError, OSError) as exc:
            log.warning("%s: not a readable receipt (%s)", path, str(exc).splitlines()[0])
            continue
        out.append((parsed.sort_key, receipt.received_at, receipt))
    out.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [r for *_, r in out]
