"""The national page and the index's regional summary, from the national mart only."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.report import charts
from pipeline.report.chart_scales import value_domain
from pipeline.report.completeness_view import completeness_view
from pipeline.report.data import NationalData
from pipeline.report.format import SUPPRESSED, UnitFormat, as_float, is_missing, month_label, pct_change
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
    for code, measure in sorted(data.measures.items(), key=lambda kv: kv[0]):
        section = _measure_section(data, code, measure, site_names, site_links)
        if section is not None:
            sections.append(section)
    benefits = [
        dict(
            benefit_row(b, data.measures.get(b.get("measure_code")), link=None, national=True),
            site=b.get("site_code"),
            site_name=site_names.get(b.get("site_code"), b.get("site_code")),
        )
        for b in data.benefits
    ]
    return {
        "sections": sections,
        "benefits": benefits,
        "unplanned": [_unplanned(u, data.measures.get(u.get("measure_code"))) for u in data.unplanned],
        "programme": [programme_row(p, data.measures.get(p.get("measure_code"))) for p in data.programme],
        "completeness": completeness_view(data.completeness, site_names),
        "summary": summary_totals(data.benefits),
        "notes": data.notes,
        "index_link": index_link,
    }


def _unplanned(u: dict, m: dict | None) -> dict:
    return {
        "site": u.get("site_code"),
        "measure": (m or {}).get("measure_name") or u.get("measure_code"),
        "period": f"{month_label(u.get('first_month'))} to {month_label(u.get('last_month'))}",
        "direction": u.get("direction") or "neutral",
        "marker": legend_marker(u.get("point_type") or "common_cause"),
        "size": pct_change(u.get("size_pct")),
    }


@dataclass
class _Measure:
    """What every site's chart of one national measure shares."""

    code: str
    measure: dict
    fmt: UnitFormat
    per_quarter: pd.DataFrame | None  # a count's years as their average quarter, for the charts
    periods: list
    domain: tuple[float, float]


def _measure_section(
    data: NationalData, code: str, measure: dict, site_names: dict[str, str], site_links: dict[str, str]
) -> dict | None:
    """A measure's section: each site's small multiple and a table of its financial years."""
    q, y = data.quarterly, data.yearly
    mq = q[q["measure_code"] == code] if not q.empty else q
    my = y[y["measure_code"] == code] if not y.empty else y
    if mq.empty and my.empty:
        return None
    m = _measure(code, measure, mq, my)
    years = sorted(my["financial_year"].dropna().unique()) if not my.empty else []
    multiples, table = [], []
    for site in data.sites:
        sc = site["site_code"]
        sq = mq[mq["site_code"] == sc]
        sy = my[my["site_code"] == sc] if not my.empty else my
        if sq.empty and sy.empty:
            continue
        name = site_names.get(sc, sc)
        fys = _year_points(sy)
        multiples.append(_site_multiple(m, sc, name, site_links.get(sc), _quarter_points(sq), fys))
        table.append({"code": sc, "name": name, "link": site_links.get(sc), "cells": _year_cells(fys, years, m.fmt)})
    return {
        "code": code,
        "anchor": f"measure-{slug(code)}",
        "name": measure.get("measure_name") or code,
        "unit": measure.get("unit"),
        "direction": measure.get("improvement_direction"),
        "description": measure.get("description"),
        "year_per_quarter": m.per_quarter is not None,
        "multiples": multiples,
        "years": years,
        "table": table,
        "other_orgs": data.other_orgs.get(code, 0),
        "suppressed_cells": int(_bool_col(mq, "suppressed").sum())
        + (int(_bool_col(my, "suppressed").sum()) if not my.empty else 0),
    }


def _measure(code: str, measure: dict, mq: pd.DataFrame, my: pd.DataFrame) -> _Measure:
    """The measure's scales: its quarters, and one value range for every site's chart."""
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
    domain = value_domain(
        values, nonnegative=all((as_float(v) or 0) >= 0 for v in values), at_most_one=fmt.unit == "proportion"
    )
    return _Measure(code, measure, fmt, per_quarter, periods, domain)


def _quarter_points(sq: pd.DataFrame) -> list[dict]:
    return [
        {
            "start": r["quarter_start"],
            "label": r.get("financial_quarter_label") or month_label(r["quarter_start"]),
            "value": r.get("value"),
            "suppressed": bool(r.get("suppressed")),
        }
        for r in sq.to_dict("records")
    ]


def _year_points(sy: pd.DataFrame) -> list[dict]:
    return [
        {
            "start": r.get("financial_year_start"),
            "label": r.get("financial_year"),
            "value": r.get("value"),
            "suppressed": bool(r.get("suppressed")),
        }
        for r in sy.to_dict("records")
    ]


def _site_multiple(m: _Measure, sc: str, name: str, link: str | None, quarters: list[dict], fys: list[dict]) -> dict:
    chart_fys = fys
    if m.per_quarter is not None:
        # A count's year is four quarters' worth: drawn beside the quarters it would read as
        # a jump, so the chart shows the year's average quarter and says so (the table keeps
        # the year's total).
        pq = m.per_quarter[m.per_quarter["site_code"] == sc].set_index("financial_year")["value"]
        chart_fys = [
            dict(fy, value=pq.get(fy["label"]), label=f"{fy['label']} average quarter (year {m.fmt(fy['value'])})")
            for fy in fys
        ]
    return {
        "code": sc,
        "name": name,
        "link": link,
        "chart": charts.small_multiple(
            quarters,
            chart_fys,
            m.fmt,
            m.domain,
            m.periods,
            chart_id=f"sm-{slug(m.code)}-{slug(sc)}",
            title=f"{m.measure.get('measure_name')}: {name} ({sc}) by financial quarter",
        ),
        "suppressed_quarters": sum(1 for x in quarters if x["suppressed"]),
    }


def _year_cells(fys: list[dict], years: list, fmt: UnitFormat) -> list[dict]:
    cells = []
    by_fy = {r["label"]: r for r in fys}
    for fy in years:
        r = by_fy.get(fy)
        if r is None:
            cells.append({"text": "no data", "cls": "nodata", "suppressed": False, "fy": fy})
        elif r["suppressed"]:
            cells.append({"text": SUPPRESSED, "cls": "suppressed", "suppressed": True, "fy": fy})
        else:
            cells.append({"text": fmt(r["value"]), "cls": "", "suppressed": False, "fy": fy, "value": as_float(r["value"])})
    return cells


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
        years = sorted(my["financial_year"].dropna().unique()) if not my.empty else []
        regions = sorted(
            set(my["region"].dropna()) | (set(mq["region"].dropna()) if not mq.empty else set()),
            key=lambda r: (r == "Unknown", r),
        )
        fmt, periods = measure_format(measure), _periods(mq, "quarter_start")
        out.append(
            {
                "code": code,
                "name": measure.get("measure_name") or code,
                "unit": measure.get("unit"),
                "direction": measure.get("improvement_direction"),
                "years": years,
                "rows": [_region_row(measure, region, my, mq, years, fmt, periods) for region in regions],
                "anchor": f"measure-{slug(code)}",
            }
        )
    return out


def _region_row(
    measure: dict, region: str, my: pd.DataFrame, mq: pd.DataFrame, years: list, fmt: UnitFormat, periods: list
) -> dict:
    ry_r = {r["financial_year"]: r for r in my[my["region"] == region].to_dict("records")} if not my.empty else {}
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
    return {
        "region": region if region != "Unknown" else "Region not known",
        "sites": sites,
        "cells": cells,
        "spark": charts.sparkline(quarters, fmt, periods, label=f"{measure.get('measure_name')}, {region}, by quarter"),
    }
