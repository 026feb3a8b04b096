"""The tables of a trust's package, read from its own warehouse after `benefits run`.

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
whole, and the current financial year travels with the months reported so far. Benefit rows are
those of the as-of months in range; SPC points run from the chart's start up to `last`, as a
chart without its baseline cannot be read. Unplanned-change signals are the site's latest scan:
every signal that starts by `last` (a run is confirmed by the months after it, so a signal found
this month may start before `first`), and the collector replaces the site's earlier signals
starting by `last` with them.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pyarrow as pa

from benefits.evaluate import add_months
from dataset_contracts.contracts import CONTRACTS
from pipeline.federation import package as pkg
from pipeline.warehouse.core import Warehouse, ident

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


class SubmitError(ValueError):
    """A package that cannot be built or sent; the message names the table, month or file."""


# -- months ------------------------------------------------------------------------------------
def parse_month(text: str, option: str = "month") -> dt.date:
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise SubmitError(f"{option}: expected a month as YYYY-MM, got {text!r}")
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


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
# Each logical type's conversion of one present value.
_CONVERT = {
    "varchar": str,
    "date": _as_date,
    "timestamp": lambda v: pd.Timestamp(v).to_pydatetime(),
    "double": float,
    "bigint": int,
    "boolean": bool,
}


def _missing(v) -> bool:
    return v is None or (not isinstance(v, (str, bytes)) and bool(pd.isna(v)))


def _column(series: pd.Series, logical: str, arrow_type: pa.DataType, where: str) -> pa.Array:
    """One column cast to its kind's type; row by row, as the tables are small aggregates."""
    try:
        convert = _CONVERT.get(logical)
        if convert is None:  # a SubmitError is a ValueError: reported, like a bad value, as unreadable
            raise SubmitError(f"{where}: unknown type {logical!r}")
        return pa.array([None if _missing(v) else convert(v) for v in series], type=arrow_type)
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
    ends = [min(add_months(s, _PERIOD_MONTHS[p] - 1), latest) for s, p in zip(starts, frame["period_type"])]
    keep = [first <= s and e <= last for s, e in zip(starts, ends)]
    frame = frame[keep].reset_index(drop=True)
    # Disclosure control only flags a withheld entry; what leaves the trust must not hold it at all.
    withheld = frame["suppressed"].astype(bool)
    for col in ("numerator", "denominator", "value"):
        frame[col] = frame[col].astype(object).where(~withheld, None)
    return frame


# Per national kind: the site's national table it is read from, and the column that orders a row within a site.
_SOURCES = {"benefits": ("fact_benefit", "benefit_id"), "benefit_spc": ("fact_benefit_spc", "benefit_id"),
            "unplanned": ("fact_unplanned_change", "measure_code")}  # fmt: skip


def _national(wh: Warehouse, kind: str, month_column: str, site: str, first: dt.date | None, last: dt.date) -> pd.DataFrame:
    table = pkg.KINDS[kind]
    source, within = _SOURCES[kind]
    _require(wh, "national", source)
    have = set(wh.columns("national", source))
    absent = [c for c in table.columns if c not in have]
    if absent:
        raise SubmitError(f"national.{source} has no column {', '.join(absent)}: run `benefits run` with this version")
    cols = ", ".join(ident(c) for c in table.columns)
    since = f" and {month_column} >= :f" if first else ""
    return wh.query(
        f"select {cols} from national.{source} where site_code = :s{since} and {month_column} <= :l "
        f"order by {within}, {month_column}",
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
        # A chart runs back to its baseline: every point up to `last`, however early.
        "benefit_spc": _national(wh, "benefit_spc", "month", site, None, last),
        "dq_rows": _dq_rows(wh, site, first, last),
        "dq_rules": _dq_rules(wh, site, first, last),
        # The site's latest scan, every signal starting by `last`: a signal is confirmed with the
        # months after it, so one found now may start months before `first`.
        "unplanned": _national(wh, "unplanned", "first_month", site, None, last),
    }
    tables = {kind: to_kind(frames[kind], kind) for kind in pkg.KINDS}
    for kind, table in tables.items():
        codes = set(table.column("site_code").to_pylist())
        if codes - {site}:
            raise SubmitError(f"{kind}: rows of {', '.join(sorted(map(str, codes - {site})))} among {site}'s")
    return tables


