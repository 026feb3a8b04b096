"""From mart rows to what a page shows: cards, tables and charts ready for the templates.

Every figure on a card is a `<span class="fig" data-field=... data-value=...>` carrying the
mart column it shows and its exact value, so a test (or a curious analyst) can check the
printed number against `fact_benefit`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from benefits.status import STATUSES
from benefits.triage import signal_id
from benefits.value import totals as value_totals

from pipeline.report import charts
from pipeline.report.spc_chart import legend_marker, spc_chart, spc_legend
from pipeline.report.data import SiteData
from pipeline.report.dq_view import dq_view
from pipeline.report.format import (
    MISSING,
    SUPPRESSED,
    UnitFormat,
    as_date,
    as_float,
    count,
    day_label,
    gbp,
    is_missing,
    month_label,
    p_value,
    pct_change,
    ratio,
    ratio_words,
    signed_count,
    unit_format,
    words,
)
from pipeline.report.icons import assurance_icon, assurance_info, status_badge, variation_icon, variation_info


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def measure_format(measure: dict | None) -> UnitFormat:
    return unit_format((measure or {}).get("unit"))


class Figures:
    """Formats one mart row's columns as tagged figures."""

    def __init__(self, row: dict, fmt: UnitFormat):
        self.row = row
        self.fmt = fmt

    def __call__(self, field: str, kind: str = "measure", *, suppressed: bool = False) -> Markup:
        value = self.row.get(field)
        if suppressed:
            return Markup(
                f'<span class="fig suppressed" data-field="{field}" data-suppressed="true">{SUPPRESSED}</span>'
            )
        text = self.text(value, kind)
        raw = as_float(value)
        data = "" if raw is None else f' data-value="{raw!r}"'
        return Markup(
            f'<span class="fig" data-field="{field}" data-format="{self.format_code(kind)}"{data}>{escape(text)}</span>'
        )

    def format_code(self, kind: str) -> str:
        if kind in ("measure", "delta"):
            return f"{kind}:{self.fmt.unit or 'value'}"
        return kind

    def text(self, value: Any, kind: str) -> str:
        if kind == "measure":
            return self.fmt(value)
        if kind == "delta":
            return self.fmt.delta(value)
        if kind == "pct":
            return pct_change(value)
        if kind == "count":
            return signed_count(value)
        if kind == "gbp":
            return gbp(value)
        if kind == "ratio":
            return ratio(value)
        if kind == "ratio3":
            v = as_float(value)
            return MISSING if v is None else f"{v:.3f}"
        if kind == "p":
            return p_value(value)
        if kind == "int":
            return count(value)
        return MISSING if is_missing(value) else str(value)


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
    f = Figures(b, fmt)
    direction = b.get("improvement_direction") or (measure or {}).get("improvement_direction") or "neutral"
    scale = b.get("its_effect_scale")
    effect_kind = "ratio" if scale == "rate_ratio" else "delta"
    suppressed = bool(b.get("latest_suppressed")) if national else False
    chart_id = f"spc-{slug(b['site_code'])}-{slug(b['benefit_id'])}"
    chart = legend = None
    table: list[dict] = []
    if spc is not None and not spc.empty:
        title = f"{b.get('title')}: {(measure or {}).get('measure_name') or b.get('measure_code')} by month"
        chart = spc_chart(spc, b, fmt, chart_id=chart_id, title=title)
        legend = spc_legend(
            [t for t in spc["point_type"].dropna().unique()] if "point_type" in spc else [],
            target=not is_missing(b.get("target_value")),
            counterfactual="its_counterfactual" in spc and spc["its_counterfactual"].notna().any(),
            ramp=_ramp_end(b) is not None,
            extended=as_date(b.get("go_live_month")) is not None,
            provisional="provisional" in spc and spc["provisional"].fillna(False).astype(bool).any(),
        )
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
    valued = not is_missing(b.get("valuation_type"))
    its_fitted = not is_missing(b.get("its_model")) and not is_missing(b.get("level_change"))
    return {
        "id": b["benefit_id"],
        "anchor": f"benefit-{slug(b['benefit_id'])}",
        "row": b,
        "f": f,
        "fmt": fmt,
        "measure_name": (measure or {}).get("measure_name") or b.get("measure_code"),
        "measure_unit": (measure or {}).get("unit") or "",
        "direction": direction,
        "status": status_badge(b.get("status")),
        "variation_icon": variation_icon(b.get("variation"), direction),
        "variation_label": variation_info(b.get("variation"), direction).label,
        "assurance_icon": assurance_icon(b.get("assurance")),
        "assurance_label": assurance_info(b.get("assurance")).label,
        "go_live": month_label(b.get("go_live_month")),
        "ramp_end": month_label(_ramp_end(b)) if _ramp_end(b) else None,
        "baseline_period": f"{month_label(b.get('baseline_start'))} to {month_label(b.get('baseline_end'))}",
        "as_of": month_label(b.get("as_of_month")),
        "target_month": month_label(b.get("target_month")) if not is_missing(b.get("target_month")) else None,
        "target_met": b.get("target_met"),
        "has_target": not is_missing(b.get("target_value")),
        "suppressed": suppressed,
        "valued": valued,
        "value_text": value_text(b),
        "diagnostics": diagnostics(b, spc),
        "valuation_words": words(b.get("valuation_type"))
        .replace("non cash", "non-cash")
        .replace("cash releasing", "cash-releasing"),
        "its_fitted": its_fitted,
        "effect_kind": effect_kind,
        "level_words": ratio_words(b.get("level_change")) if scale == "rate_ratio" else None,
        "level_low_words": ratio_words(b.get("level_change_low")) if scale == "rate_ratio" else None,
        "level_high_words": ratio_words(b.get("level_change_high")) if scale == "rate_ratio" else None,
        "has_slope": not is_missing(b.get("slope_change")),
        "chart": chart,
        "chart_id": chart_id,
        "legend": legend,
        "table": table,
        "strip": charts.status_strip(timeline, label=f"Status of {b['benefit_id']} month by month since go-live")
        if timeline
        else None,
    }


def programme_row(p: dict, measure: dict | None) -> dict:
    """One system's expected effect on one measure, in words a business case can quote."""

    def ratio(est, lo, hi) -> str:
        if as_float(est) is None:
            return MISSING
        return f"{ratio_words(est)} (95% CI {ratio_words(lo)} to {ratio_words(hi)})"

    pred = (
        f"{ratio_words(p.get('meta_prediction_low'))} to {ratio_words(p.get('meta_prediction_high'))}"
        if as_float(p.get("meta_prediction_low")) is not None
        else MISSING
    )
    i2 = as_float(p.get("meta_i2"))
    return {
        "system": p.get("system"),
        "measure": (measure or {}).get("measure_name") or p.get("measure_code"),
        "sites": count(p.get("sites")),
        "meta": ratio(p.get("meta_rate_ratio"), p.get("meta_low"), p.get("meta_high")),
        "prediction": pred,
        "i2": f"{i2 * 100:.0f}%" if i2 is not None else MISSING,
        "staggered": ratio(p.get("staggered_rate_ratio"), p.get("staggered_low"), p.get("staggered_high")),
        "note": p.get("note") or "",
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


def value_text(b: dict) -> str:
    """A benefit's value as a headline may show it: evidenced value, a harm's cost, or why neither."""
    if is_missing(b.get("valuation_type")):
        return "not valued"
    if (as_float(b.get("value_evidenced_gbp")) or 0.0) > 0:
        return gbp(b.get("value_evidenced_gbp"))
    if (as_float(b.get("disbenefit_cost_gbp")) or 0.0) > 0:
        return f"cost {gbp(b.get('disbenefit_cost_gbp'))}"
    return "not evidenced"


def summary_totals(benefits: list[dict]) -> dict:
    """Headline figures: evidenced value only, with its interval; harms as a separate cost."""
    by_status: dict[str, int] = defaultdict(int)
    for b in benefits:
        by_status[b.get("status") or "unknown"] += 1
    t = value_totals(benefits)
    statuses = [(s, by_status[s], status_badge(s)) for s in STATUSES if by_status.get(s)]
    statuses += [(s, n, status_badge(s)) for s, n in by_status.items() if s not in STATUSES]
    return {
        "count": len(benefits),
        "statuses": statuses,
        "total": gbp(t["value_evidenced_gbp"]),
        "interval": f"95% interval {gbp(t['value_evidenced_gbp_low'])} to {gbp(t['value_evidenced_gbp_high'])}"
        if t["evidenced_benefits"]
        else "no benefit's value is evidenced yet",
        "evidenced": t["evidenced_benefits"],
        "valued": t["valued_benefits"],
        "cash": gbp(t["value_evidenced_cash_releasing_gbp"]),
        "noncash": gbp(t["value_evidenced_non_cash_releasing_gbp"]),
        "public": gbp(t["value_evidenced_public_money_gbp"]) if t["value_evidenced_public_money_gbp"] else None,
        "cost": gbp(t["disbenefit_cost_gbp"]),
        "harms": t["evidenced_disbenefits"],
    }


def benefit_row(b: dict, measure: dict | None, *, link: str | None, national: bool = False) -> dict:
    fmt = measure_format(measure)
    direction = b.get("improvement_direction") or (measure or {}).get("improvement_direction")
    suppressed = national and bool(b.get("latest_suppressed"))
    return {
        "id": b["benefit_id"],
        "title": b.get("title"),
        "link": link,
        "measure": (measure or {}).get("measure_name") or b.get("measure_code"),
        "go_live": month_label(b.get("go_live_month")),
        "status": status_badge(b.get("status")),
        "variation_icon": variation_icon(b.get("variation"), direction, size=26),
        "variation_label": variation_info(b.get("variation"), direction).label,
        "assurance_icon": assurance_icon(b.get("assurance"), size=26),
        "assurance_label": assurance_info(b.get("assurance")).label,
        "latest": SUPPRESSED if suppressed else fmt(b.get("latest_value")),
        "baseline": fmt(b.get("baseline_mean")),
        "target": fmt(b.get("target_value")) if not is_missing(b.get("target_value")) else MISSING,
        "value": value_text(b),
        "suppressed": suppressed,
        "as_of": month_label(b.get("as_of_month")),
    }


TRIAGE_WORDS = {
    "new": "new: to triage (`benefits signals accept|reject`)",
    "accepted_benefit": "accepted as an unanticipated benefit",
    "accepted_disbenefit": "accepted as a disbenefit",
    "rejected": "rejected",
}


def cost_or_return(value) -> str:
    """A net return; below 0 it is a net cost and says so, never a negative value."""
    v = as_float(value)
    if v is None:
        return MISSING
    return f"net cost {gbp(-v)}" if v < 0 else gbp(v)


def return_row(r: dict) -> dict:
    spent = as_float(r.get("investment_to_date_gbp")) or 0.0
    roi = as_float(r.get("roi"))
    return {
        "name": "Whole trust" if r.get("level") == "trust" else (r.get("project") or "Benefits without a project"),
        "trust": r.get("level") == "trust",
        "investment": gbp(spent) if spent else "none recorded",
        "recurring": gbp(r.get("investment_recurring_gbp_per_year")) if as_float(r.get("investment_recurring_gbp_per_year")) else "",
        "sources": r.get("investment_sources") or "",
        "value": gbp(r.get("value_evidenced_gbp")),
        "interval": f"{gbp(r.get('value_evidenced_gbp_low'))} to {gbp(r.get('value_evidenced_gbp_high'))}",
        "split": f"cash-releasing {gbp(r.get('value_evidenced_cash_releasing_gbp'))}, non-cash-releasing "
        f"{gbp(r.get('value_evidenced_non_cash_releasing_gbp'))}, public money {gbp(r.get('value_evidenced_public_money_gbp'))}",
        "disbenefits": gbp(r.get("disbenefit_cost_gbp")),
        "net": cost_or_return(r.get("net_return_gbp")),
        "roi": MISSING if roi is None else f"{roi * 100:.0f}% ({as_float(r.get('roi_low')) * 100:.0f}% to {as_float(r.get('roi_high')) * 100:.0f}%)",
        "payback": month_label(r.get("payback_month")) if r.get("payback_month") is not None and not is_missing(r.get("payback_month"))
        else ("not yet" if spent else MISSING),
        "who": "; ".join(x for x in (f"gains: {r['who_gains']}" if r.get("who_gains") else "",
                                    f"bears the cost: {r['who_bears_cost']}" if r.get("who_bears_cost") else "") if x),
    }  # fmt: skip


def site_view(data: SiteData, *, index_link: str, national_link: str | None) -> dict:
    site = data.site
    cards = [
        benefit_card(
            b,
            data.measures.get(b.get("measure_code")),
            data.spc.get(b["benefit_id"]),
            data.timeline.get(b["benefit_id"], []),
        )
        for b in data.benefits
    ]
    for c in cards:
        c["evidence"] = [
            {"date": day_label(e.get("evidence_date")), "kind": e.get("kind"), "text": e.get("text"),
             "author": e.get("author"), "reference": e.get("reference")}
            for e in data.evidence.get(c["id"], [])
        ]  # fmt: skip
    rows = [
        benefit_row(b, data.measures.get(b.get("measure_code")), link=f"#benefit-{slug(b['benefit_id'])}")
        for b in data.benefits
    ]
    unplanned = []
    decided = {t["signal_id"]: t for t in data.triage}
    for u in data.unplanned:
        m = data.measures.get(u.get("measure_code"))
        fmt = measure_format(m)
        sid = signal_id(u.get("site_code") or site.ods_code, u.get("measure_code"), u.get("point_type"), u.get("first_month"))
        t = decided.get(sid, {})
        unplanned.append(
            {
                "signal_id": sid,
                "triage": TRIAGE_WORDS.get(t.get("state"), "not triaged yet")
                + (f" ({t['reason']})" if t.get("reason") else "") + (f": {t['note']}" if t.get("note") else ""),
                "measure": (m or {}).get("measure_name") or u.get("measure_code"),
                "period": f"{month_label(u.get('first_month'))} to {month_label(u.get('last_month'))}",
                "months": count(u.get("months")),
                "direction": u.get("direction") or "neutral",
                "marker": legend_marker(u.get("point_type") or "common_cause"),
                "baseline": fmt(u.get("baseline_mean")),
                "signal": fmt(u.get("signal_mean")),
                "size": pct_change(u.get("size_pct")),
                "ongoing": bool(u.get("ongoing")),
                "description": u.get("description") or "",
            }
        )
    planned = {b.measure for b in site.benefit_list}
    return {
        "site": site,
        "title": f"{site.name} ({site.ods_code})",
        "as_of": month_label(data.as_of) if data.as_of else MISSING,
        "summary": summary_totals(data.benefits),
        "rows": rows,
        "cards": cards,
        "missing_benefits": [b for b in site.benefit_list if b.id not in {c["id"] for c in cards}],
        "unplanned": unplanned,
        "decisions": [
            {"id": t["signal_id"], "measure": (data.measures.get(t.get("measure_code")) or {}).get("measure_name")
             or t.get("measure_code"), "from": month_label(t.get("first_month")), "state": TRIAGE_WORDS.get(t.get("state"), t.get("state")),
             "reason": t.get("reason") or "", "note": t.get("note") or "", "by": t.get("decided_by") or "",
             "previous": t.get("previous_decision") or ""}
            for t in data.triage if t.get("state") != "new" or t.get("previous_decision")
        ],  # fmt: skip
        "returns": [return_row(r) for r in data.returns],
        "observed": [
            {"id": o["observation_id"], "kind": o.get("kind"), "title": o.get("title"), "narrative": o.get("narrative"),
             "project": o.get("project") or "", "gains": o.get("who_gains") or MISSING,
             "bears": o.get("who_bears_cost") or MISSING, "from": month_label(o.get("observed_from")),
             "by": o.get("recorded_by")}
            for o in data.observed
        ],  # fmt: skip
        "restatements": [
            {
                "benefit": r.get("benefit_id"),
                "month": month_label(r.get("as_of_month")),
                "field": words(r.get("field") or ""),
                "published": r.get("published_value") or MISSING,
                "current": r.get("current_value") or MISSING,
                "cause": "the benefit's register entry was edited" if r.get("cause") == "register"
                else "new or corrected data",
            }
            for r in data.restatements
        ],
        "planned_measures": planned,
        "dq": dq_view(data),
        "notes": data.notes,
        "index_link": index_link,
        "national_link": national_link,
    }
