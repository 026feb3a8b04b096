"""Evaluate a benefit against its measure's monthly series, as of each month since go-live.

For one benefit this gives
* `fact_benefit` rows: what a board paper would have said at the end of each month since
  go-live, using only data up to that month (SPC signal, assurance, ITS effect refitted on the
  data to date, cumulative benefit and its value, status and reason);
* `fact_benefit_spc` rows: the chart as of the latest month, one row per month of the series.

Two SPC views of the same series (see docs/benefits.md):
* the evidence chart: centre line and limits from the baseline period, extended past go-live
  (NHSRplotthedots' `fix_after_n_points` on the baseline). Special causes after go-live are
  change against the baseline; variation, status and the timeline use it.
* the rebased chart: rebased at the baseline start, at go-live and at the end of ramp-in
  (NHSRplotthedots' `rebase`). Its latest group is the process since go-live; assurance
  against the target uses its limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benefits.as_of_rows import fact_rows
from benefits.benefit_series import benefit_series
from benefits.its_as_of import ljung_box_p
from benefits.its_plan import Comparator, ItsPlan
from benefits.months import Maturity, add_months, month_index
from benefits.register import Benefit
from benefits.spc_rows import spc_rows
from benefits.specs import DEFAULT_SETTINGS, EngineSettings, MeasureSpec
from benefits.status import fmt
from benefits.tables import FACT_BENEFIT, FACT_BENEFIT_SPC

FACT_BENEFIT_COLUMNS: dict[str, str] = FACT_BENEFIT.types
FACT_BENEFIT_SPC_COLUMNS: dict[str, str] = FACT_BENEFIT_SPC.types

__all__ = [
    "DEFAULT_SETTINGS", "FACT_BENEFIT_COLUMNS", "FACT_BENEFIT_SPC_COLUMNS", "Comparator", "EngineSettings", "Evaluation",
    "Maturity", "MeasureSpec", "add_months", "describe", "evaluate_benefit", "fact_frame", "ljung_box_p", "month_index",
    "spc_frame",
]  # fmt: skip


@dataclass
class Evaluation:
    """One benefit's rows. Kept as records / column arrays so the engine can build one data frame
    for hundreds of benefits; `fact` and `spc` give this benefit's as data frames."""

    fact_records: list[dict]  # FACT_BENEFIT columns plus private `_` columns for publishing
    spc_columns: dict[str, np.ndarray | list]  # FACT_BENEFIT_SPC columns
    warnings: list[str] = field(default_factory=list)

    @property
    def fact(self) -> pd.DataFrame:
        return fact_frame(self.fact_records)

    @property
    def spc(self) -> pd.DataFrame:
        return spc_frame([self.spc_columns])


FACT_PRIVATE = ["_public_reason", "_latest_numerator", "_latest_denominator"]


def fact_frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records, columns=[*FACT_BENEFIT_COLUMNS, *FACT_PRIVATE])


def spc_frame(parts: list[dict]) -> pd.DataFrame:
    parts = [p for p in parts if p and len(p["month"])]
    if not parts:
        return pd.DataFrame(columns=list(FACT_BENEFIT_SPC_COLUMNS))
    cols = {}
    for c in FACT_BENEFIT_SPC_COLUMNS:
        cols[c] = np.concatenate([np.asarray(p[c], dtype=object if isinstance(p[c], list) else None) for p in parts])
    return pd.DataFrame(cols, columns=list(FACT_BENEFIT_SPC_COLUMNS))


def _row_base(benefit: Benefit, site_code: str, direction: str) -> dict:
    v = benefit.valuation
    return {
        "site_code": site_code,
        "benefit_id": benefit.id,
        "title": benefit.title,
        "project": benefit.project,
        "measure_code": benefit.measure,
        "scope": benefit.scope,
        "kind": benefit.kind,
        "category": benefit.category.value,
        "owner": benefit.owner,
        "go_live_month": benefit.go_live,
        "ramp_months": benefit.ramp_months,
        "baseline_start": benefit.baseline.start,
        "baseline_end": benefit.baseline.end,
        "improvement_direction": direction,
        "target_value": benefit.target.value if benefit.target else np.nan,
        "target_month": benefit.target.date if benefit.target else None,
        "valuation_type": v.type if v else None,
        "gbp_per_unit": v.gbp_per_unit if v else np.nan,
        "valuation_source": v.source if v else None,
    }


def evaluate_benefit(
    series: pd.DataFrame,
    benefit: Benefit,
    site_code: str,
    measure: MeasureSpec | str,
    settings: EngineSettings = DEFAULT_SETTINGS,
    *,
    comparator: Comparator | None = None,
) -> Evaluation:
    """`series` has one row per month (month, value, and numerator/denominator for ITS).

    `comparator`, when given, is the same measure summed over sites without this change: the ITS
    then controls for it (a controlled interrupted time series).

    `measure` is the measure's spec, or just its improvement direction. A benefit whose
    measure has no data since go-live yields one row (as of the latest month, or go-live when
    there is no data), so it is never silently absent from the marts.
    """
    if isinstance(measure, str):
        measure = MeasureSpec(code=benefit.measure, direction=measure, family="none")
    s = benefit_series(series, benefit, site_code, measure, settings)
    n = s.n
    base = _row_base(benefit, site_code, s.direction)
    warnings: list[str] = []
    if 0 < s.n_base < settings.short_group:
        warnings.append(f"{site_code} {benefit.id}: baseline limits from {s.n_base} points (trial limits)")
    use = comparator if (benefit.analysis is None or benefit.analysis.comparator is not False) else None
    plan = ItsPlan(s.months, s.y, s.num, s.den, benefit, measure, s.g_idx, s.r_idx, settings, s.maturity, use)
    as_of_rows = np.arange(s.g_idx, n) if s.g_idx < n else np.arange(n - 1, n) if n else np.zeros(0, dtype=np.int64)
    if not len(as_of_rows):  # no data at all
        row = {**base, "as_of_month": benefit.go_live, "is_latest": True, "baseline_months": 0,
               "months_since_go_live": 0, "post_go_live_months": 0, "status": "insufficient_data",
               "status_signal": "insufficient_data",
               "status_reason": "no data for this measure", "_public_reason": "no data for this measure"}  # fmt: skip
        return Evaluation([row], {}, warnings)
    rows_out, final_fit = fact_rows(s, plan, as_of_rows, base)
    chart = spc_rows(s, plan, final_fit)
    chart["provisional"] = s.maturity.immature_at(n - 1) if n else np.zeros(0, bool)
    return Evaluation(rows_out, chart, warnings)


def describe(fact_row: pd.Series) -> str:
    """One benefit-month in a sentence (for logs and notebooks)."""
    parts = [f"{fact_row['benefit_id']} as of {fact_row['as_of_month']:%b %Y}: {fact_row['status']} ({fact_row['status_reason']})"]
    if pd.notna(fact_row.get("level_change")):
        parts.append(
            f"level change {fmt(fact_row['level_change'])} ({fmt(fact_row['level_change_low'])} to {fmt(fact_row['level_change_high'])})"
        )
    return "; ".join(parts)
