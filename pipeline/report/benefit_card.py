"""A benefit's card on its site page: its figures, SPC chart and legend, month table, status strip
and the diagnostics of its ITS model."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from markupsafe import Markup

from pipeline.report import charts
from pipeline.report.format import SUPPRESSED, UnitFormat, as_date, as_float, count, is_missing, month_label, ratio_words, words
from pipeline.report.icons import assurance_icon, assurance_info, status_badge, variation_icon, variation_info
from pipeline.report.spc_chart import spc_chart, spc_legend
from pipeline.report.views import Figures, measure_format, slug, value_text


def _ramp_end(b: dict) -> dt.date | None:
    go = as_date(b.get("go_live_month"))
    ramp = int(as_float(b.get("ramp_months")) or 0)
    if not go or ramp <= 0:
        return None
    return (pd.Timestamp(go) + pd.DateOffset(months=ramp - 1)).date()


def benefit_card(
    b: dict, measure: dict | None, spc: pd.DataFrame | None, timeline: list[dict], *, national: bool = False
) -> dict:
    fmt = measure_format(measure)
    m = measure or {}
    direction = b.get("improvement_direction") or m.get("improvement_direction") or "neutral"
    chart_id = f"spc-{slug(b['site_code'])}-{slug(b['benefit_id'])}"
    chart = legend = None
    table: list[dict] = []
    if spc is not None and not spc.empty:
        chart, legend = _spc_figure(b, m, spc, fmt, chart_id)
        table = _month_table(spc, fmt)
    return {
        "id": b["benefit_id"],
        "anchor": f"benefit-{slug(b['benefit_id'])}",
        "row": b,
        "f": Figures(b, fmt),
        "fmt": fmt,
        "measure_name": m.get("measure_name") or b.get("measure_code"),
        "measure_unit": m.get("unit") or "",
        "direction": direction,
        **_icons(b, direction),
        **_dates(b),
        "target_met": b.get("target_met"),
        "has_target": not is_missing(b.get("target_value")),
        "suppressed": bool(b.get("latest_suppressed")) if national else False,
        "valued": not is_missing(b.get("valuation_type")),
        "value_text": value_text(b),
        "diagnostics": diagnostics(b, spc),
        "valuation_words": words(b.get("valuation_type"))
        .replace("non cash", "non-cash")
        .replace("cash releasing", "cash-releasing"),
        **_effect(b),
        "chart": chart,
        "chart_id": chart_id,
        "legend": legend,
        "table": table,
        "strip": charts.status_strip(timeline, label=f"Status of {b['benefit_id']} month by month since go-live")
        if timeline
        else None,
    }


def _spc_figure(b: dict, m: dict, spc: pd.DataFrame, fmt: UnitFormat, chart_id: str) -> tuple[Markup, Markup]:
    """The benefit's SPC chart and a legend naming only what the chart draws."""
    title = f"{b.get('title')}: {m.get('measure_name') or b.get('measure_code')} by month"
    chart = spc_chart(spc, b, fmt, chart_id=chart_id, title=title)
    legend = spc_legend(
        [t for t in spc["point_type"].dropna().unique()] if "point_type" in spc else [],
        target=not is_missing(b.get("target_value")),
        counterfactual="its_counterfactual" in spc and spc["its_counterfactual"].notna().any(),
        ramp=_ramp_end(b) is not None,
        extended=as_date(b.get("go_live_month")) is not None,
        provisional="provisional" in spc and spc["provisional"].fillna(False).astype(bool).any(),
    )
    return chart, legend


def _month_table(spc: pd.DataFrame, fmt: UnitFormat) -> list[dict]:
    """The chart's months as a table: value, the rebased chart's limits, point type and segment."""
    table = []
    for r in spc.sort_values("month").to_dict("records"):
        supp = bool(r.get("suppressed")) and is_missing(r.get("value"))
        table.append(
            {
                "month": month_label(r.get("month")),
                "value": SUPPRESSED if supp else fmt(r.get("value")),
                "mean": fmt(r.get("rebased_mean")),
                "lpl": fmt(r.get("rebased_lpl")),
                "upl": fmt(r.get("rebased_upl")),
                "point_type": words(r.get("point_type")) if not supp else SUPPRESSED,
                "segment": words(r.get("segment")),
            }
        )
    return table


def _icons(b: dict, direction: str) -> dict:
    return {
        "status": status_badge(b.get("status")),
        "variation_icon": variation_icon(b.get("variation"), direction),
        "variation_label": variation_info(b.get("variation"), direction).label,
        "assurance_icon": assurance_icon(b.get("assurance")),
        "assurance_label": assurance_info(b.get("assurance")).label,
    }


def _dates(b: dict) -> dict:
    return {
        "go_live": month_label(b.get("go_live_month")),
        "ramp_end": month_label(_ramp_end(b)) if _ramp_end(b) else None,
        "baseline_period": f"{month_label(b.get('baseline_start'))} to {month_label(b.get('baseline_end'))}",
        "as_of": month_label(b.get("as_of_month")),
        "target_month": month_label(b.get("target_month")) if not is_missing(b.get("target_month")) else None,
    }


def _effect(b: dict) -> dict:
    """The ITS effect: whether a model was fitted, on which scale, and a rate ratio in words."""
    rate_ratio = b.get("its_effect_scale") == "rate_ratio"
    return {
        "its_fitted": not is_missing(b.get("its_model")) and not is_missing(b.get("level_change")),
        "effect_kind": "ratio" if rate_ratio else "delta",
        "level_words": ratio_words(b.get("level_change")) if rate_ratio else None,
        "level_low_words": ratio_words(b.get("level_change_low")) if rate_ratio else None,
        "level_high_words": ratio_words(b.get("level_change_high")) if rate_ratio else None,
        "has_slope": not is_missing(b.get("slope_change")),
    }


def diagnostics(b: dict, spc: pd.DataFrame | None) -> str:
    """Why the model can be believed (or not): points used, dispersion, residual autocorrelation,
    provisional months."""
    if is_missing(b.get("its_model")) or is_missing(b.get("its_points_pre")):
        return ""
    parts = [f"{count(b.get('its_points_pre'))} months fitted before go-live and {count(b.get('its_points_post'))} after the ramp-in"]
    disp = as_float(b.get("its_dispersion"))
    if disp is not None:
        scale = "over-dispersion (Pearson chi2 / df)" if b.get("its_effect_scale") == "rate_ratio" else "residual variance"
        parts.append(f"{scale} {disp:.2f}")
    lb = as_float(b.get("its_autocorrelation_p"))
    if lb is not None:
        verdict = "autocorrelation in the residuals: the interval may be too narrow" if lb < 0.05 else "no sign of residual autocorrelation"
        parts.append(f"Ljung-Box test (6 lags) p = {lb:.2f}, {verdict}")
    if spc is not None and "provisional" in spc:
        prov = spc[spc["provisional"].fillna(False).astype(bool)]
        if len(prov):
            parts.append(f"{len(prov)} provisional month{'s' if len(prov) != 1 else ''} left out ({', '.join(month_label(m) for m in prov['month'])})")
    return "; ".join(parts)
