"""Realise benefits: evaluate every site's register against its measures and scan for unplanned change.

Writes, from the measures layer (never from another mart):
* `measures.fact_benefit_all`, `.fact_benefit_spc_all`, `.fact_unplanned_change_all`: every
  site's rows, and `local_<ods>.fact_benefit`, `.fact_benefit_spc`, `.fact_unplanned_change` as
  views of the site's own rows (all of its benefits and signals);
* `national.fact_benefit`, `.fact_benefit_spc`: national-scope benefits only, with the values of
  months whose counts are small withheld (the national mart's suppression rule);
  `national.fact_unplanned_change`: signals on national measures, without their means where
  a month they cover is withheld;
* `local_<ods>.benefit_investment_return` (through `measures.benefit_investment_return_all`):
  evidenced value against the register's investment, per project and for the trust;
* the kept triage rows of this run's signals (`pipeline/marts/triage.py`).

Local measures come through `measures.measure_monthly` too (for their own site only); their
metadata through `pipeline.marts.build.measure_lookup(site)`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benefits.evaluate import (
    DEFAULT_SETTINGS,
    Comparator,
    FACT_BENEFIT_COLUMNS,
    FACT_BENEFIT_SPC_COLUMNS,
    EngineSettings,
    MeasureSpec,
    evaluate_benefit,
    fact_frame,
    spc_frame,
)
from benefits.investment import return_frame
from benefits.pooled import programme_effects
from benefits.scan import ScanSettings, describe, scan_unplanned
from benefits.tables import (
    FACT_BENEFIT,
    FACT_BENEFIT_SPC,
    FACT_UNPLANNED_CHANGE,
    BENEFIT_EVIDENCE,
    INVESTMENT_RETURN,
    PROGRAMME_EFFECT,
    VALUE_SUMMARY,
    MartTable,
)
from benefits.value import summary_frame
from pipeline.marts import build as marts
from pipeline.marts import observed, triage
from pipeline.marts.disclosure_windows import covers, fact_windows, months_by_series, spc_windows
from pipeline.marts.publication import record_register_versions, refresh_restatements
from pipeline.config.register_checks import target_warning
from pipeline.config.sites import SiteConfig
from pipeline.warehouse.core import Warehouse
from pipeline.warehouse.site_views import site_views

log = logging.getLogger(__name__)
SERIES_COLUMNS = "site_code, measure_code, month, numerator, denominator, value"
UNPLANNED_COLUMNS = FACT_UNPLANNED_CHANGE.types


@dataclass
class RealiseResult:
    benefits: int = 0
    rows: int = 0
    spc_rows: int = 0
    unplanned: int = 0
    new_signals: int = 0  # signals first detected or reopened by this run (the triage list's `new`)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    by_site: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)  # latest status of each benefit
    restatements: int = 0  # published figures the run states differently
    seconds: dict[str, float] = field(default_factory=dict)


def load_series(wh: Warehouse) -> pd.DataFrame:
    frame = wh.query(f"select {SERIES_COLUMNS} from measures.measure_monthly")
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    for c in ("numerator", "denominator", "value"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    return frame


def measure_catalogue(site: SiteConfig | None = None) -> dict[str, MeasureSpec]:
    """National measures, plus the site's local measures."""
    try:
        lookup = marts.measure_lookup(site)
    except TypeError:  # a measure catalogue without local measures
        lookup = marts.measure_lookup()
    return {code: MeasureSpec.of(m) for code, m in lookup.items()}


def _suppressed(num: pd.Series, den: pd.Series, threshold: int) -> pd.Series:
    return (num.between(1, threshold) | den.between(1, threshold)).fillna(False).astype(bool)


def _withheld(frame: pd.DataFrame, month: str, withheld: set[tuple]) -> pd.Series:
    if not withheld or frame.empty:
        return pd.Series(False, index=frame.index)
    keys = zip(frame["site_code"], frame["measure_code"], pd.to_datetime(frame[month]).dt.date)
    return pd.Series([k in withheld for k in keys], index=frame.index)


def withheld_months(wh: Warehouse) -> set[tuple]:
    """(site, measure, month) the national mart withholds, primary and complementary alike."""
    if not wh.table_exists("measures", "disclosure_control"):
        log.warning("measures.disclosure_control is missing (marts not built): national benefit tables "
                    "withhold small counts only, without complementary suppression")
        return set()
    frame = marts.national_suppression(wh)
    frame = frame[frame["suppressed"]]
    return set(zip(frame["site_code"], frame["measure_code"], frame["month"]))


def publish_national(
    fact: pd.DataFrame, spc: pd.DataFrame, threshold: int, withheld: set[tuple] = frozenset()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """National copies: national-scope benefits, withholding every month fact_measure_monthly withholds,
    and every figure computed over a window of months that holds one (pipeline.marts.disclosure_windows).

    Withholding only this table's own small counts would re-publish months the national facts
    hide as complementary cells, and through them give the small counts away by subtraction.
    """
    fact = fact[fact["scope"] == "national"].copy()
    ids = set(zip(fact["site_code"], fact["benefit_id"]))
    # A boolean array, not a list: an empty list would select no columns instead of no rows.
    keep = np.fromiter((k in ids for k in zip(spc["site_code"], spc["benefit_id"])), dtype=bool, count=len(spc))
    spc = spc[keep].copy()
    hide = _suppressed(spc["numerator"], spc["denominator"], threshold)
    hide |= _withheld(spc, "month", withheld)
    spc["suppressed"] = hide
    # The SPC points' own small counts too: without disclosure_control they are all there is.
    small = spc[hide.to_numpy()]
    by_series = months_by_series(set(withheld) | set(zip(small["site_code"], small["measure_code"], small["month"])))

    latest = _suppressed(fact["_latest_numerator"], fact["_latest_denominator"], threshold)
    latest |= _withheld(fact, "as_of_month", withheld)
    fact["latest_suppressed"] = latest
    hidden = {"the latest value": latest.to_numpy()}
    for what, (columns, start, end) in fact_windows(fact).items():
        over = covers(fact, by_series, start, end)
        fact[list(columns)] = fact[list(columns)].astype(float)
        fact.loc[over, list(columns)] = np.nan
        hidden[what] = over
    fact.loc[latest, ["latest_value", "change_abs", "change_pct"]] = np.nan
    # Every reason is given in the words without window figures once a withheld month is in the
    # series to date (status.assess), and names what is withheld.
    to_date = covers(fact, by_series, None, fact["as_of_month"])
    fact.loc[to_date, "status_reason"] = fact.loc[to_date, "_public_reason"]
    notes = [", ".join(w for w, h in hidden.items() if h[i]) for i in range(len(fact))]
    fact["status_reason"] = [
        f"{r}; {n} withheld nationally, as a month they cover is withheld" if n else r
        for r, n in zip(fact["status_reason"], notes)
    ]

    for c in ("value", "numerator", "denominator"):
        spc.loc[hide, c] = np.nan
    for columns, (start, end) in spc_windows(spc).items():
        over = covers(spc, by_series, start, end)
        spc[list(columns)] = spc[list(columns)].astype(float)
        spc.loc[over, list(columns)] = np.nan
    return fact, spc


UNPLANNED_MEANS = ("baseline_mean", "signal_mean", "size_abs", "size_pct")


def publish_unplanned(unplanned: pd.DataFrame, national_codes: set[str], withheld: set[tuple] = frozenset()) -> pd.DataFrame:
    """National copy of the scan's signals: national measures only, and no means over a withheld month.

    The scan reads the unsuppressed series, and a mean over months of which one is withheld gives
    that month's value away by subtraction from the published ones; so a signal whose baseline or
    own months include a month fact_measure_monthly withholds is published without its means."""
    out = unplanned[unplanned["measure_code"].isin(national_codes)].reset_index(drop=True)
    if out.empty or not withheld:
        return out
    by_series = months_by_series(withheld)
    hide = covers(out, by_series, out["baseline_start"], out["baseline_end"])
    hide |= covers(out, by_series, out["first_month"], out["last_month"])
    out[list(UNPLANNED_MEANS)] = out[list(UNPLANNED_MEANS)].astype(float)
    out.loc[hide, list(UNPLANNED_MEANS)] = np.nan
    out.loc[hide, "description"] = [describe(r, r["measure_code"], figures=False) for r in out[hide].to_dict("records")]
    return out


MIN_COMPARATOR_SITES = 10


def comparators(series: pd.DataFrame, sites: list[SiteConfig], minimum: int = MIN_COMPARATOR_SITES) -> dict[str, Comparator]:
    """Per measure, its rate summed over the sites with no benefit registered on it, in months
    where at least `minimum` of them report: the comparison series of a controlled ITS.

    Sites with any benefit on the measure are left out for all months, so a comparator never
    holds a change of the kind it is meant to control for."""
    covered: dict[str, set[str]] = {}
    for site in sites:
        for b in site.benefit_list:
            covered.setdefault(b.measure, set()).add(site.ods_code)
    out: dict[str, Comparator] = {}
    data = series[series["denominator"] > 0]
    for measure, g in data[data["measure_code"].isin(covered)].groupby("measure_code", sort=False):
        g = g[~g["site_code"].isin(covered[measure])]
        if g.empty:
            continue
        per = g.groupby("month").agg(num=("numerator", "sum"), den=("denominator", "sum"), n=("site_code", "nunique"))
        per = per[per["n"] >= minimum]
        if per.empty:
            continue
        rate = per["num"] / per["den"]
        out[measure] = Comparator(
            tuple(per.index), tuple(float(r) for r in rate),
            f"the same measure at {int(per['n'].min())}-{int(per['n'].max())} sites with no benefit on it",
        )  # fmt: skip
    return out


def realise(
    wh: Warehouse,
    sites: list[SiteConfig],
    *,
    suppression_threshold: int | None = None,
    settings: EngineSettings = DEFAULT_SETTINGS,
    scan_settings: ScanSettings = ScanSettings(),
) -> RealiseResult:
    if suppression_threshold is None:
        from pipeline.config.settings import load_settings

        suppression_threshold = load_settings().suppression_threshold
    result = RealiseResult()
    t0 = time.perf_counter()
    series = load_series(wh)
    result.seconds["load"] = time.perf_counter() - t0
    # Accepted signals join the registers before anything reads them: they are then evaluated,
    # versioned and restated like any other benefit, and the scan leaves their months alone.
    trusts = triage.with_accepted([s for s in sites if s.role == "trust"], triage.accepted_benefits(wh))
    versions = record_register_versions(wh, trusts)

    t1 = time.perf_counter()
    ev = _evaluate_all(series, trusts, settings, result)
    result.seconds["benefits"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    codes = {s.ods_code for s in trusts}
    directions = {key: m.direction for key, m in ev.specs.items()}
    unplanned = scan_unplanned(series[series["site_code"].isin(codes)], directions, ev.covered, scan_settings, ev.specs)
    result.unplanned = len(unplanned)
    result.seconds["scan"] = time.perf_counter() - t2

    t_p = time.perf_counter()
    registered = pd.DataFrame(
        [(s.ods_code, b.measure, b.project, b.go_live, b.ramp_months) for s in trusts for b in s.benefit_list],
        columns=["site_code", "measure_code", "project", "go_live", "ramp_months"],
    )
    fact = fact_frame(ev.fact_records)
    fact["register_version"] = fact["site_code"].map(versions)
    programme = programme_effects(fact[fact["is_latest"].astype(bool)], series, registered)
    result.seconds["programme"] = time.perf_counter() - t_p

    t3 = time.perf_counter()
    spc = spc_frame(ev.spc_parts)
    schemas = {site.ods_code: site.schema for site in trusts}
    _write_marts(wh, trusts, schemas, fact, spc, unplanned, programme, suppression_threshold)
    result.restatements = refresh_restatements(wh, trusts, schemas)
    result.new_signals = triage.sync(wh, unplanned, sorted(codes), schemas)
    observed.ensure(wh, schemas)
    result.rows, result.spc_rows = len(fact), len(spc)
    result.seconds["write"] = time.perf_counter() - t3
    for p in result.problems:
        log.error(p)
    for w in result.warnings:
        log.info(w)
    return result


@dataclass
class _Evaluated:
    """Every benefit's rows, and what the scan needs: each series' earliest go-live and its measure."""

    fact_records: list[dict] = field(default_factory=list)
    spc_parts: list[dict] = field(default_factory=list)
    covered: dict[tuple[str, str], dt.date] = field(default_factory=dict)
    specs: dict[tuple[str, str], MeasureSpec] = field(default_factory=dict)


def _evaluate_all(series: pd.DataFrame, trusts: list[SiteConfig], settings: EngineSettings, result: RealiseResult) -> _Evaluated:
    by_key = {k: g for k, g in series.groupby(["site_code", "measure_code"], sort=False)}
    compare = comparators(series, trusts)
    out = _Evaluated()
    for site in trusts:
        catalogue = measure_catalogue(site)
        out.specs.update({(site.ods_code, c): m for c, m in catalogue.items()})
        for b in site.benefit_list:
            key = (site.ods_code, b.measure)
            out.covered[key] = min(out.covered.get(key, b.go_live), b.go_live)
            measure = catalogue.get(b.measure)
            if measure is None:
                result.problems.append(f"{site.ods_code}: benefit {b.id}: unknown measure {b.measure!r}")
                continue
            s = by_key.get(key)
            if s is None:
                s = series.iloc[0:0]
                result.warnings.append(f"{site.ods_code}: benefit {b.id}: no data for measure {b.measure}")
            ev = evaluate_benefit(s, b, site.ods_code, measure, settings, comparator=compare.get(b.measure))
            _add_evaluation(out, result, site, b, ev)
    return out


def _add_evaluation(out: _Evaluated, result: RealiseResult, site: SiteConfig, b, ev) -> None:
    latest_row = ev.fact_records[-1]
    odd_target = target_warning(site, b, latest_row.get("improvement_direction"), latest_row.get("baseline_mean"))
    if odd_target:
        log.warning(odd_target)  # shown on every run, not only with -v: the target is the user's to fix
    out.fact_records.extend(ev.fact_records)
    out.spc_parts.append(ev.spc_columns)
    result.warnings.extend(ev.warnings)
    result.benefits += 1
    result.by_site[site.ods_code] = result.by_site.get(site.ods_code, 0) + 1
    latest = ev.fact_records[-1]["status"]
    result.by_status[latest] = result.by_status.get(latest, 0) + 1


def _write_marts(wh: Warehouse, trusts: list[SiteConfig], schemas: dict[str, str], fact: pd.DataFrame, spc: pd.DataFrame,
                 unplanned: pd.DataFrame, programme: pd.DataFrame, suppression_threshold: int) -> None:  # fmt: skip
    """Every site's rows to the local marts, and the national copies with their months withheld."""
    withheld = withheld_months(wh)
    nat_fact, nat_spc = publish_national(fact, spc, suppression_threshold, withheld)
    nat_fact = nat_fact.sort_values(["site_code", "benefit_id", "as_of_month"], kind="stable").reset_index(drop=True)
    nat_spc = nat_spc.sort_values(["site_code", "benefit_id", "month"], kind="stable").reset_index(drop=True)
    nat_unplanned = publish_unplanned(unplanned, set(marts.measure_lookup()), withheld)
    with wh.begin() as conn:
        for spec, frame in (
            (FACT_BENEFIT, fact), (FACT_BENEFIT_SPC, spc), (FACT_UNPLANNED_CHANGE, unplanned),
            (VALUE_SUMMARY, summary_frame(fact)),
            (INVESTMENT_RETURN, return_frame(fact, [(s.ods_code, s.benefit_list, s.projects) for s in trusts])),
            (BENEFIT_EVIDENCE, evidence_frame(trusts)),
        ):  # fmt: skip
            _write_all_sites(wh, conn, spec, frame, schemas)
        wh.replace_table(conn, "national.benefit_value_summary", summary_frame(nat_fact), VALUE_SUMMARY.types)
        wh.replace_table(conn, "national.fact_programme_effect", programme, PROGRAMME_EFFECT.types)
        wh.replace_table(conn, "national.fact_benefit", nat_fact, FACT_BENEFIT_COLUMNS)
        wh.replace_table(conn, "national.fact_benefit_spc", nat_spc, FACT_BENEFIT_SPC_COLUMNS)
        wh.replace_table(conn, "national.fact_unplanned_change", nat_unplanned, UNPLANNED_COLUMNS)


def evidence_frame(trusts: list[SiteConfig]) -> pd.DataFrame:
    """Every benefit's evidence items, in register order."""
    rows = [
        (s.ods_code, b.id, i, e.date, e.kind, e.text, e.author, e.reference, e.share)
        for s in trusts for b in s.benefit_list for i, e in enumerate(b.evidence, start=1)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(BENEFIT_EVIDENCE.columns))


def all_sites_table(spec: MartTable) -> str:
    """Where every site's rows of a mart table are kept (the local marts are views of it)."""
    return f"measures.{spec.name}_all"


def _write_all_sites(wh: Warehouse, conn, spec: MartTable, frame: pd.DataFrame, schemas: dict[str, str]) -> None:
    """Write every site's rows once to `measures.<name>_all` and give each site its
    `local_<ods>.<name>` as a view of its own rows.

    The one mechanism of every local mart relation (pipeline/warehouse/site_views.py).
    """
    import sqlalchemy as sa

    base = all_sites_table(spec)
    if not wh.is_duckdb:
        conn.execute(sa.text(f"drop table if exists {base} cascade"))  # and the site views on it
    wh.replace_table(conn, base, frame.reset_index(drop=True), spec.types)
    site_views(conn, wh, schemas, base, spec.name, list(spec.columns))
