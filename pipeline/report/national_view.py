"""The national page and the index's regional summary, from the national mart only."""

from __future__ import annotations

import pandas as pd

from pipeline.report import charts
from pipeline.report.chart_scales import value_domain
from pipeline.report.completeness_view import completeness_view
from pipeline.report.data import NationalData
from pipeline.report.format import SUPPRESSED, as_float, is_missing, month_label, pct_change
from pipeline.report.spc_chart import legend_marker
from pipeline.report.views import benefit_row, measure_format, programme_row, slug, summary_totals


def _periods(frame: pd.DataFrame, column: str) -> list:
    if frame.empty or column not in frame:
        return []
    vals = sorted(v for v in frame[column].dropna().unique())
    if not vals:
        return []
    return [d.date() for d in pd.date_range(vals[0], vals[-1], freq="QS-APR")] if column == "quarter_start" else vals


def _bool_col(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].fillna(False).astype(bool) if column in frame else pd.Series(False, index=frame.index)


def is_count(measure: dict) -> bool:
    """A plain count (no denominator): its quarters add up to its year."""
    den = measure.get("denominator_definition")
    return is_missing(den) or str(den).strip().lower() in ("", "none")


def _year_per_quarter(quarterly: pd.DataFrame, yearly: pd.DataFrame) -> pd.DataFrame:
    """Each site's financial-year count divided by the quarters it has in that year."""
    if yearly.empty:
        return yearly
    n = quarterly.groupby(["site_code", "financial_year"]).size() if not quarterly.empty else pd.Series(dtype=float)
    out = yearly.copy()
    out["value"] = [
        (as_float(v) / n.get((sc, fy), 4)) if not is_missing(v) else v
        for sc, fy, v in zip(out["site_code"], out["financial_year"], out["value"], strict=True)
    ]
    return out


def national_view(data: NationalData, *, index_link: str, site_links: dict[str, str]) -> dict:
    site_names = {s["site_code"]: s.get("site_name") or s["site_code"] for s in data.sites}
    sections = []
    q, y = data.quarterly, data.yearly
    for code, measure in sorted(data.measures.items(), key=lambda kv: kv[0]):
        mq = q[q["measure_code"] == code] if not q.empty else q
        my = y[y["measure_code"] == code] if not y.empty else y
        if mq.empty and my.empty:
            continue
        fmt = measure_format(measure)
        periods = _periods(mq, "quarter_start") if not mq.empty else []
        per_quarter = _year_per_quarter(mq, my) if is_count(measure) else None
        values = [
            v
            for part in (mq, my if per_quarter is None else per_quarter)
            if not part.empty
            for v, hidden in zip(part["value"], _bool_col(part, "suppressed"), strict=True)
            if not hidden and not is_missing(v)
        ]
        lo, hi = value_domain(
            values, nonnegative=all((as_float(v) or 0) >= 0 for v in values), at_most_one=fmt.unit == "proportion"
        )
        years = sorted(my["financial_year"].dropna().unique()) if not my.empty else []
        multiples, table = [], []
        for site in data.sites:
            sc = site["site_code"]
            sq = mq[mq["site_code"] == sc]
            sy = my[my["site_code"] == sc] if not my.empty else my
            if sq.empty and sy.empty:
                continue
            quarters = [
                {
                    "start": r["quarter_start"],
                    "label": r.get("financial_quarter_label") or month_label(r["quarter_start"]),
                    "value": r.get("value"),
                    "suppressed": bool(r.get("suppressed")),
                }
                for r in sq.to_dict("records")
            ]
            fys = [
                {
                    "start": r.get("financial_year_start"),
                    "label": r.get("financial_year"),
                    "value": r.get("value"),
                    "suppressed": bool(r.get("suppressed")),
                }
                for r in sy.to_dict("records")
            ]
            chart_fys = fys
            if per_quarter is not None:
                # A count's year is four quarters' worth: drawn beside the quarters it would read as
                # a jump, so the chart shows the year's average quarter and says so (the table keeps
                # the year's total).
                pq = per_quarter[per_quarter["site_code"] == sc].set_index("financial_year")["value"]
                chart_fys = [
                    dict(fy, value=pq.get(fy["label"]), label=f"{fy['label']} average quarter (year {fmt(fy['value'])})")
                    for fy in fys
                ]
            name = site_names.get(sc, sc)
            multiples.append(
                {
                    "code": sc,
                    "name": name,
                    "link": site_links.get(sc),
                    "chart": charts.small_multiple(
                        quarters,
                        chart_fys,
                        fmt,
                        (lo, hi),
                        periods,
                        chart_id=f"sm-{slug(code)}-{slug(sc)}",
                        title=f"{measure.get('measure_name')}: {name} ({sc}) by financial quarter",
                    ),
                    "suppressed_quarters": sum(1 for x in quarters if x["suppressed"]),
                }
            )
            cells = []
            by_fy = {r["label"]: r for r in fys}
            for fy in years:
                r = by_fy.get(fy)
                if r is None:
                    cells.append({"text": "no data", "cls": "nodata", "suppressed": False, "fy": fy})
                elif r["suppressed"]:
                    cells.append({"text": SUPPRESSED, "cls": "suppressed", "suppressed": True, "fy": fy})
                else:
                    cells.append(
                        {
                            "text": fmt(r["value"]),
                            "cls": "",
                            "suppressed": False,
                            "fy": fy,
                            "value": as_float(r["value"]),
                        }
                    )
            table.append({"code": sc, "name": name, "link": site_links.get(sc), "cells": cells})
        sections.append(
            {
                "code": code,
                "anchor": f"measure-{slug(code)}",
                "name": measure.get("measure_name") or code,
                "unit": measure.get("unit"),
                "direction": measure.get("improvement_direction"),
                "description": measure.get("description"),
                "year_per_quarter": per_quarter is not None,
                "multiples": multiples,
                "years": years,
                "table": table,
                "other_orgs": data.other_orgs.get(code, 0),
                "suppressed_cells": int(_bool_col(mq, "suppressed").sum())
                + (int(_bool_col(my, "suppressed").sum()) if not my.empty else 0),
            }
        )
    benefits = [
        dict(
            benefit_row(b, data.measures.get(b.get("measure_code")), link=None, national=True),
            site=b.get("site_code"),
            site_name=site_names.get(b.get("site_code"), b.get("site_code")),
        )
        for b in data.benefits
    ]
    unplanned = []
    for u in data.unplanned:
        m = data.measures.get(u.get("measure_code"))
        unplanned.append(
            {
                "site": u.get("site_code"),
                "measure": (m or {}).get("measure_name") or u.get("measure_code"),
                "period": f"{month_label(u.get('first_month'))} to {month_label(u.get('last_month'))}",
                "direction": u.get("direction") or "neutral",
                "marker": legend_marker(u.get("point_type") or "common_cause"),
                "size": pct_change(u.get("size_pct")),
            }
        )
    return {
        "sections": sections,
        "benefits": benefits,
        "unplanned": unplanned,
        "programme": [programme_row(p, data.measures.get(p.get("measure_code"))) for p in data.programme],
        "completeness": completeness_view(data.completeness, site_names),
        "summary": summary_totals(data.benefits),
        "notes": data.notes,
        "index_link": index_link,
    }


def region_view(data: NationalData) -> list[dict]:
    """National core measures by NHS region: financial-year values and a quarterly sparkline."""
    out = []
    rq, ry = data.region_quarterly, data.region_yearly
    if ry.empty and rq.empty:
        return out
    for code, measure in sorted(data.measures.items(), key=lambda kv: kv[0]):
        my = ry[ry["measure_code"] == code] if not ry.empty else ry
        mq = rq[rq["measure_code"] == code] if not rq.empty else rq
        if my.empty and mq.empty:
            continue
        fmt = measure_format(measure)
        years = sorted(my["financial_year"].dropna().unique()) if not my.empty else []
        periods = _periods(mq, "quarter_start")
        regions = sorted(
            set(my["region"].dropna()) | (set(mq["region"].dropna()) if not mq.empty else set()),
            key=lambda r: (r == "Unknown", r),
        )
        rows = []
        for region in regions:
            ry_r = (
                {r["financial_year"]: r for r in my[my["region"] == region].to_dict("records")} if not my.empty else {}
            )
            cells = []
            for fy in years:
                r = ry_r.get(fy)
                if r is None:
                    cells.append({"text": "no data", "cls": "nodata", "suppressed": False})
                elif bool(r.get("suppressed")):
                    cells.append({"text": SUPPRESSED, "cls": "suppressed", "suppressed": True})
                else:
                    cells.append({"text": fmt(r.get("value")), "cls": "", "suppressed": False})
            sites = max([int(as_float(r.get("sites")) or 0) for r in ry_r.values()] or [0])
            quarters = [
                {
                    "start": r["quarter_start"],
                    "label": r.get("financial_quarter_label"),
                    "value": r.get("value"),
                    "suppressed": bool(r.get("suppressed")),
                }
                for r in (mq[mq["region"] == region].to_dict("records") if not mq.empty else [])
            ]
            rows.append(
                {
                    "region": region if region != "Unknown" else "Region not known",
                    "sites": sites,
                    "cells": cells,
                    "spark": charts.sparkline(
                        quarters, fmt, periods, label=f"{measure.get('measure_name')}, {region}, by quarter"
                    ),
                }
            )
        out.append(
            {
                "code": code,
                "name": measure.get("measure_name") or code,
                "unit": measure.get("unit"),
                "direction": measure.get("improvement_direction"),
                "years": years,
                "rows": rows,
                "anchor": f"measure-{slug(code)}",
            }
        )
    return out
