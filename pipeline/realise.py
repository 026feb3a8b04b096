"""Realise benefits: evaluate every site's register against its measures and load fact_benefit.

National-scope benefits go to national.fact_benefit, every benefit of a site to its own
local_<ods>.fact_benefit. Both read the measures layer, never each other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from benefits.evaluate import FACT_BENEFIT_COLUMNS, evaluate_benefit
from pipeline.config import SiteConfig
from pipeline.marts import measure_lookup
from pipeline.warehouse.core import Warehouse

log = logging.getLogger(__name__)


@dataclass
class RealiseResult:
    benefits: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    by_site: dict[str, int] = field(default_factory=dict)


def load_series(wh: Warehouse) -> pd.DataFrame:
    frame = wh.query(
        "select site_code, measure_code, month, numerator, denominator, value from measures.measure_monthly"
    )
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame


def realise(wh: Warehouse, sites: list[SiteConfig]) -> RealiseResult:
    series = load_series(wh)
    lookup = measure_lookup()
    result = RealiseResult()
    frames: dict[str, list[pd.DataFrame]] = {}
    for site in (s for s in sites if s.role == "trust"):
        frames[site.schema] = []
        for b in site.benefit_list:
            measure = lookup.get(b.measure)
            if measure is None:
                result.problems.append(f"{site.ods_code}: benefit {b.id}: unknown measure {b.measure!r}")
                continue
            s = series[(series.site_code == site.ods_code) & (series.measure_code == b.measure)]
            rows = evaluate_benefit(s, b, site.ods_code, measure.direction)
            frames[site.schema].append(rows)
            result.benefits += 1
            result.by_site[site.ods_code] = result.by_site.get(site.ods_code, 0) + 1
    empty = pd.DataFrame(columns=list(FACT_BENEFIT_COLUMNS))
    national = []
    with wh.begin() as conn:
        for schema, parts in frames.items():
            frame = pd.concat(parts, ignore_index=True) if parts else empty
            wh.replace_table(conn, f"{schema}.fact_benefit", frame, FACT_BENEFIT_COLUMNS)
            national.append(frame[frame["scope"] == "national"])
            result.rows += len(frame)
        nat = pd.concat(national, ignore_index=True) if national else empty
        nat = nat.sort_values(["site_code", "benefit_id", "as_of_month"]).reset_index(drop=True)
        wh.replace_table(conn, "national.fact_benefit", nat, FACT_BENEFIT_COLUMNS)
    for p in result.problems:
        log.error(p)
    return result
