"""The mart tables the benefits engine writes (not SQL models), described once.

The warehouse DDL, the data dictionary and the report all read these specs, so a column is
named, typed and explained in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MartTable:
    name: str  # table name inside `national` and/or `local_<ods>`
    grain: str
    key: str
    description: str
    columns: dict[str, tuple[str, str]]  # column -> (logical type in expectations.contracts.TYPES, description)
    scopes: tuple[str, ...] = ("national", "local")

    @property
    def types(self) -> dict[str, str]:
        return {c: t for c, (t, _) in self.columns.items()}


FACT_BENEFIT = MartTable(
    name="fact_benefit",
    grain="benefit x as-of month",
    key="site_code, benefit_id, as_of_month",
    description=(
        "Each planned benefit (and recorded unanticipated benefit or disbenefit) as it stood at the end of each "
        "month since go-live, using only data up to that month. The national mart holds national-scope benefits; "
        "a site's local mart holds all of that site's."
    ),
    columns={
        "site_code": ("varchar", "ODS code of the trust"),
        "benefit_id": ("varchar", "the benefit's id in the site's register"),
        "title": ("varchar", "short title of the benefit"),
        "project": ("varchar", "project or system that should deliver it"),
        "measure_code": ("varchar", "measure the benefit is tracked on (see dim_measure)"),
        "scope": ("varchar", "national or local"),
        "kind": ("varchar", "planned, unanticipated_benefit or disbenefit"),
        "category": ("varchar", "benefit category (safety_and_quality, financial, ...)"),
        "as_of_month": ("date", "the month this row describes the benefit at"),
        "go_live_month": ("date", "month the change went live"),
        "baseline_start": ("date", "first month of the baseline period"),
        "baseline_end": ("date", "last month of the baseline period"),
        "baseline_months": ("bigint", "months with data in the baseline period"),
        "months_since_go_live": ("bigint", "whole months from go-live to as_of_month"),
        "baseline_mean": ("double", "mean monthly value of the measure over the baseline period"),
        "latest_value": ("double", "value of the measure in as_of_month (or the latest month before it with data)"),
        "change_abs": ("double", "latest_value minus baseline_mean"),
        "change_pct": ("double", "change_abs as a percentage of baseline_mean"),
        "improvement_direction": ("varchar", "higher, lower or neutral: which way is better"),
        "target_value": ("double", "target value of the measure"),
        "target_month": ("date", "month by which the target should be met"),
        "target_met": ("boolean", "latest_value meets the target in the improvement direction"),
        "status": ("varchar", "realised, emerging, not_yet_evident, disbenefit or insufficient_data"),
        "status_reason": ("varchar", "why the status was given, in words"),
    },
)

MART_TABLES: tuple[MartTable, ...] = (FACT_BENEFIT,)
