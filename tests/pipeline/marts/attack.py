"""An intruder with only the published national figures: tries to recover every withheld one.

Independent of pipeline.marts.suppression: it rebuilds, from what a reader can see (the published
tables, dim_site's regions and trust types, dim_month's quarters and years), every identity
"published total = sum of organisation-months", then
1. subtracts, repeatedly: an identity with one unknown left gives that unknown away;
2. solves the whole linear system: an unknown (or a withheld total) whose indicator is orthogonal
   to the null space is determined, whatever the other unknowns are;
3. uses non-negativity: an identity whose unknowns must sum to zero makes each of them zero.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

TOL = 1e-6


def _members(row, cells: pd.DataFrame) -> np.ndarray:
    if row.group_type == "site":
        mask = cells["site_code"] == row.group_code
    else:
        mask = cells[row.group_type] == row.group_code
    period = cells["quarter_start"] if row.period_type == "quarter" else cells["year_start"]
    return np.flatnonzero(mask.to_numpy() & (period == row.period_start).to_numpy())


def attack(
    published: pd.DataFrame, sites: pd.DataFrame, months: pd.DataFrame, threshold: int = 7
) -> dict[tuple, dict[str, float]]:
    """`published`: measure_code, group_type, group_code, period_type, period_start, numerator, denominator,
    suppressed, suppression_reason (withheld values null). `sites`: site_code, region, trust_type. `months`: month, quarter_start,
    financial_year_start. Returns {(measure, group_type, group_code, period_type, period_start): {quantity: value}}
    for every withheld figure the intruder can pin down."""
    recovered: dict[tuple, dict[str, float]] = defaultdict(dict)
    region = dict(zip(sites["site_code"], sites["region"]))
    ttype = dict(zip(sites["site_code"], sites["trust_type"]))
    qstart = dict(zip(months["month"], months["quarter_start"]))
    ystart = dict(zip(months["month"], months["financial_year_start"]))
    for measure, table in published.groupby("measure_code"):
        cells = table[(table["group_type"] == "site") & (table["period_type"] == "month")].copy()
        cells = cells.rename(columns={"group_code": "site_code", "period_start": "month"}).reset_index(drop=True)
        cells["region"] = cells["site_code"].map(region)
        cells["trust_type"] = cells["site_code"].map(ttype)
        cells["quarter_start"] = cells["month"].map(qstart)
        cells["year_start"] = cells["month"].map(ystart)
        totals = table[~((table["group_type"] == "site") & (table["period_type"] == "month"))]
        for qty in ("numerator", "denominator"):
            if cells[qty].isna().all() and not cells["suppressed"].any():
                continue  # a count with no denominator
            if qty == "denominator" and totals[qty].isna().all() and cells[qty].isna().all():
                continue
            _attack_quantity(measure, qty, cells, totals, recovered, threshold)
    return dict(recovered)


def _attack_quantity(measure, qty, cells, totals, recovered, threshold: int) -> None:
    # A small_count cell of a plain count (no denominator) is known to hold 1 to threshold.
    count = qty == "numerator" and cells["denominator"].isna().all() and totals["denominator"].isna().all()
    known = {i: float(v) for i, v in enumerate(cells[qty]) if not cells["suppressed"].iloc[i] and pd.notna(v)}
    unknown = [i for i in range(len(cells)) if cells["suppressed"].iloc[i]]
    if not unknown:
        return
    equations = []  # (member cells, total)
    withheld_totals = []
    for row in totals.itertuples(index=False):
        members = _members(row, cells)
        if row.suppressed:
            withheld_totals.append((row, members))
        elif pd.notna(getattr(row, qty)):
            equations.append((members, float(getattr(row, qty))))

    def key_of(i: int) -> tuple:
        return (measure, "site", cells["site_code"].iloc[i], "month", cells["month"].iloc[i])

    # 1. repeated subtraction (and 3. zero sums)
    changed = True
    while changed:
        changed = False
        for members, total in equations:
            rest = [m for m in members if m not in known]
            if not rest:
                continue
            remainder = total - sum(known[m] for m in members if m in known)
            small = [m for m in rest if count and cells["suppression_reason"].iloc[m] == "small_count"]
            if len(rest) == 1 or abs(remainder) < TOL:
                values = {m: remainder if len(rest) == 1 else 0.0 for m in rest}
            elif abs(remainder - len(small)) < TOL:  # every small count is at least 1, the rest at least 0
                values = {m: 1.0 if m in small else 0.0 for m in rest}
            elif len(small) == len(rest) and abs(remainder - threshold * len(rest)) < TOL:
                values = {m: float(threshold) for m in rest}
            else:
                continue
            for m, v in values.items():
                known[m] = v
                recovered[key_of(m)][qty] = v
            changed = True

    # 2. the whole linear system over what is still unknown
    left = [i for i in unknown if i not in known]
    pos = {c: j for j, c in enumerate(left)}
    rows, rhs = [], []
    for members, total in equations:
        cols = [pos[m] for m in members if m in pos]
        if cols:
            r = np.zeros(len(left))
            r[cols] = 1.0
            rows.append(r)
            rhs.append(total - sum(known[m] for m in members if m in known))
    if rows and left:
        a, b = np.array(rows), np.array(rhs)
        x, *_ = np.linalg.lstsq(a, b, rcond=None)
        _, s, vh = np.linalg.svd(a, full_matrices=True)
        null = vh[int((s > TOL * max(1.0, s[0])).sum()):].T
    else:
        x, null = np.zeros(len(left)), np.eye(len(left))
    for c, j in pos.items():
        if null.shape[1] == 0 or np.linalg.norm(null[j]) < TOL:
            recovered[key_of(c)][qty] = float(x[j])
    for row, members in withheld_totals:
        t = np.zeros(len(left))
        inside = [pos[m] for m in members if m in pos]
        t[inside] = 1.0
        if not left or null.shape[1] == 0 or np.linalg.norm(null.T @ t) < TOL:
            value = float(t @ x) + sum(known[m] for m in members if m in known)
            recovered[(measure, row.group_type, row.group_code, row.period_type, row.period_start)][qty] = value
