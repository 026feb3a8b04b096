"""What the report reads from the warehouse, and nothing else: the marts, never staging.

A site page reads only that site's local mart (`local_<ods>`); the national page and the
national parts of the index read only the national mart, whose small counts are already
withheld. A table that is not there yet (a site whose benefits were never realised, a warehouse
built before the data-quality views) gives an empty section with a note, not an error.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.config.sites import SiteConfig
from pipeline.warehouse.core import Warehouse, ident

log = logging.getLogger(__name__)

DATE_COLUMNS = {
    "month",
    "as_of_month",
    "go_live_month",
    "baseline_start",
    "baseline_end",
    "target_month",
    "first_month",
    "last_month",
    "scanned_to",
    "covered_from",
    "quarter_start",
    "financial_year_start",
    "period_start",
    "period_end",
}


def _dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates as datetime.date whatever the engine returns (DuckDB timestamps, PostgreSQL dates)."""
    for c in frame.columns:
        if c in DATE_COLUMNS:
            frame[c] = [None if pd.isna(v) else pd.Timestamp(v).date() for v in frame[c]]
    return frame


def records(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    return [{k: (None if _na(v) else v) for k, v in r.items()} for r in frame.to_dict("records")]


def _na(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


@dataclass
class Reader:
    wh: Warehouse
    notes: list[str] = field(default_factory=list)
    _tables: dict[str, set[str]] = field(default_factory=dict)

    def exists(self, schema: str, table: str) -> bool:
        if schema not in self._tables:
            self._tables[schema] = set(self.wh.tables(schema))
        return table in self._tables[schema]

    def read(
        self, schema: str, table: str, where: str = "", order: str = "", params: dict | None = None
    ) -> pd.DataFrame | None:
        if not self.exists(schema, table):
            self.notes.append(f"{schema}.{table} is not in the warehouse yet")
            log.info("report: %s.%s not found; its section is left empty", schema, table)
            return None
        sql = f"select * from {ident(schema)}.{ident(table)}"
        if where:
            sql += f" where {where}"
        if order:
            sql += f" order by {order}"
        return _dates(self.wh.query(sql, params or {}))


# -- one site ------------------------------------------------------------------------------
@dataclass
class SiteData:
    site: SiteConfig
    measures: dict[str, dict]
    benefits: list[dict]  # each benefit's latest fact_benefit row, in register order
    timeline: dict[str, list[dict]]  # benefit_id -> one row per as-of month (status)
    spc: dict[str, pd.DataFrame]  # benefit_id -> fact_benefit_spc rows
    unplanned: list[dict]
    dq_pass: list[dict]
    dq_quarantine: list[dict]
    dq_new: list[dict]
    dq_batches: list[dict]
    notes: list[str]
    restatements: list[dict] = field(default_factory=list)  # published figures the latest run states differently
    triage: list[dict] = field(default_factory=list)  # signal_triage rows: what was decided about each signal
    observed: list[dict] = field(default_factory=list)  # observed benefits no measure captures
    returns: list[dict] = field(default_factory=list)  # benefit_investment_return: per project, then the trust
    evidence: dict[str, list[dict]] = field(default_factory=dict)  # benefit_id -> its qualitative evidence items

    @property
    def as_of(self) -> dt.date | None:
        months = [b["as_of_month"] for b in self.benefits if b.get("as_of_month")]
        return max(months) if months else None


def _register_order(site: SiteConfig, frame: pd.DataFrame) -> pd.DataFrame:
    order = {b.id: i for i, b in enumerate(site.benefit_list)}
    return (
        frame.assign(_o=frame["benefit_id"].map(order).fillna(len(order)))
        .sort_values(["_o", "benefit_id"])
        .drop(columns="_o")
    )


def latest_rows(fact: pd.DataFrame) -> pd.DataFrame:
    """Each benefit's current row: is_latest, else its latest as-of month."""
    if fact.empty:
        return fact
    if "is_latest" in fact.columns and fact["is_latest"].fillna(False).astype(bool).any():
        latest = fact[fact["is_latest"].fillna(False).astype(bool)]
    else:
        latest = fact.sort_values("as_of_month").groupby(["site_code", "benefit_id"], sort=False).tail(1)
    return latest.drop_duplicates(["site_code", "benefit_id"], keep="last")


def load_site(wh: Warehouse, site: SiteConfig) -> SiteData:
    r = Reader(wh)
    schema = site.schema
    dim = r.read(schema, "dim_measure")
    if dim is None or dim.empty:
        dim = r.read("national", "dim_measure")
    measures = {m["measure_code"]: m for m in records(dim)}
    fact = r.read(schema, "fact_benefit", order="benefit_id, as_of_month")
    benefits: list[dict] = []
    timeline: dict[str, list[dict]] = {}
    if fact is not None and not fact.empty:
        benefits = records(_register_order(site, latest_rows(fact)))
        for bid, g in fact.groupby("benefit_id", sort=False):
            timeline[bid] = records(g.sort_values("as_of_month")[["as_of_month", "status"]])
    spc_frame = r.read(schema, "fact_benefit_spc", order="benefit_id, month")
    spc = (
        {}
        if spc_frame is None
        else {bid: g.reset_index(drop=True) for bid, g in spc_frame.groupby("benefit_id", sort=False)}
    )
    unplanned = records(r.read(schema, "fact_unplanned_change", order="first_month, measure_code"))
    dq_pass = records(r.read(schema, "dq_pass_rate_monthly", order="dataset, month, category"))
    dq_quarantine = records(r.read(schema, "dq_quarantine_monthly", order="dataset, month"))
    dq_new = records(r.read(schema, "dq_new_failures", where="is_latest", order="dataset, expectation"))
    dq_batches = records(r.read(schema, "dq_batch", order="dataset, loaded_at"))
    restated = records(r.read(schema, "benefit_restatement", order="as_of_month, benefit_id, field")) if r.exists(
        schema, "benefit_restatement") else []  # fmt: skip
    triage = records(r.read(schema, "signal_triage", order="first_month, measure_code")) if r.exists(
        schema, "signal_triage") else []  # fmt: skip
    observed = records(r.read(schema, "observed_benefit", order="observed_from, observation_id")) if r.exists(
        schema, "observed_benefit") else []  # fmt: skip
    returns = records(r.read(schema, "benefit_investment_return", order="level, project")) if r.exists(
        schema, "benefit_investment_return") else []  # fmt: skip
    evidence: dict[str, list[dict]] = {}
    if r.exists(schema, "benefit_evidence"):
        for e in records(r.read(schema, "benefit_evidence", order="benefit_id, item")):
            evidence.setdefault(e["benefit_id"], []).append(e)
    return SiteData(
        site, measures, benefits, timeline, spc, unplanned, dq_pass, dq_quarantine, dq_new, dq_batches, r.notes,
        restated, triage, observed, returns, evidence,
    )


# -- national ------------------------------------------------------------------------------
@dataclass
class NationalData:
    sites: list[dict]  # configured organisations (dim_site)
    measures: dict[str, dict]
    quarterly: pd.DataFrame  # configured organisations x measure x financial quarter
    yearly: pd.DataFrame
    region_quarterly: pd.DataFrame
    region_yearly: pd.DataFrame
    other_orgs: dict[str, int]  # measure -> organisations in the national facts not configured here
    benefits: list[dict]  # national-scope benefits, latest row (small counts withheld)
    unplanned: list[dict]
    notes: list[str]
    programme: list[dict] = field(default_factory=list)  # fact_programme_effect rows
    completeness: pd.DataFrame | None = None  # national.submission_completeness (a federated collector only)


def _frame(f: pd.DataFrame | None) -> pd.DataFrame:
    return f if f is not None else pd.DataFrame()


def load_national(wh: Warehouse) -> NationalData:
    r = Reader(wh)
    sites = r.read("national", "dim_site", order="site_code")
    configured = (
        sites[sites["configured"].fillna(False).astype(bool)]
        if sites is not None and not sites.empty
        else pd.DataFrame()
    )
    codes = set(configured["site_code"]) if not configured.empty else set()
    measures = {m["measure_code"]: m for m in records(r.read("national", "dim_measure"))}
    q = _frame(r.read("national", "measure_quarterly", order="measure_code, site_code, quarter_start"))
    y = _frame(r.read("national", "measure_financial_year", order="measure_code, site_code, financial_year_start"))
    other: dict[str, int] = {}
    if not q.empty:
        for code, g in q.groupby("measure_code"):
            other[code] = int(g.loc[~g["site_code"].isin(codes), "site_code"].nunique())
        q = q[q["site_code"].isin(codes)].reset_index(drop=True)
    if not y.empty:
        y = y[y["site_code"].isin(codes)].reset_index(drop=True)
    rq = _frame(r.read("national", "region_quarterly", order="measure_code, region, quarter_start"))
    ry = _frame(r.read("national", "region_financial_year", order="measure_code, region, financial_year_start"))
    fact = r.read("national", "fact_benefit", order="site_code, benefit_id, as_of_month")
    benefits = records(latest_rows(fact)) if fact is not None and not fact.empty else []
    unplanned = records(r.read("national", "fact_unplanned_change", order="site_code, first_month, measure_code"))
    programme = (
        records(r.read("national", "fact_programme_effect", order="system, measure_code"))
        if r.exists("national", "fact_programme_effect")
        else []
    )
    board = r.read("national", "submission_completeness") if r.exists("national", "submission_completeness") else None
    return NationalData(records(configured), measures, q, y, rq, ry, other, benefits, unplanned, r.notes, programme,
                        board)  # fmt: skip
