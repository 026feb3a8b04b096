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
from pipeline.report.data import NationalData, SiteData
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
    percent,
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
        chart = charts.spc_chart(spc, b, fmt, chart_id=chart_id, title=title)
        legend = charts.spc_legend(
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
                "marker": charts.legend_marker(u.get("point_type") or "common_cause"),
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


# -- data quality --------------------------------------------------------------------------
def dq_view(data: SiteData) -> dict:
    batches = []
    latest: dict[str, dict] = {}
    for b in data.dq_batches:
        latest[b.get("dataset")] = b  # ordered by loaded_at: the last one wins
    for ds, b in sorted(latest.items()):
        batches.append(
            {
                "dataset": ds,
                "source": b.get("source_name"),
                "status": b.get("status"),
                "period": f"{month_label(b.get('period_start'))} to {month_label(b.get('period_end'))}",
                "rows_in": count(b.get("rows_in")),
                "loaded": count(b.get("rows_loaded")),
                "quarantined": count(b.get("rows_quarantined")),
                "rate": percent(b.get("quarantine_rate"), 2),
                "checks": count(b.get("checks")),
                "failed": count(b.get("checks_failed")),
                "reason": b.get("reason") or "",
            }
        )
    # Pass rate by dataset and validation month, all Kahn categories together (and by category).
    agg: dict[tuple, dict] = {}
    for r in data.dq_pass:
        key = (r.get("dataset"), r.get("month"))
        a = agg.setdefault(
            key, {"checks": 0, "passed": 0, "fatal": 0, "error": 0, "warning": 0, "batches": 0, "by_cat": {}}
        )
        a["checks"] += int(as_float(r.get("checks")) or 0)
        a["passed"] += int(as_float(r.get("checks_passed")) or 0)
        a["fatal"] += int(as_float(r.get("fatal_failed")) or 0)
        a["error"] += int(as_float(r.get("error_failed")) or 0)
        a["warning"] += int(as_float(r.get("warning_failed")) or 0)
        a["batches"] = max(a["batches"], int(as_float(r.get("batches")) or 0))
        a["by_cat"][r.get("category")] = percent(r.get("pass_rate"))
    pass_rows = []
    for (ds, month), a in sorted(agg.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or dt.date.min)):
        rate = a["passed"] / a["checks"] if a["checks"] else None
        pass_rows.append(
            {
                "dataset": ds,
                "month": month_label(month),
                "batches": a["batches"],
                "checks": a["checks"],
                "passed": a["passed"],
                "rate": percent(rate, 1),
                "rate_value": rate,
                "conformance": a["by_cat"].get("conformance", MISSING),
                "completeness": a["by_cat"].get("completeness", MISSING),
                "plausibility": a["by_cat"].get("plausibility", MISSING),
                "failed": f"{a['fatal']} fatal, {a['error']} error, {a['warning']} warning",
            }
        )
    # Quarantined rows per dataset and month of the data.
    months_all = sorted({r.get("month") for r in data.dq_quarantine if r.get("month")})
    if months_all:
        first, last = months_all[0], months_all[-1]
        spine = [d.date() for d in pd.date_range(first, last, freq="MS")]
    else:
        spine = []
    per_ds: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    per_rule: dict[tuple[str, str], dict] = {}
    for r in data.dq_quarantine:
        ds, n = r.get("dataset"), int(as_float(r.get("rows_quarantined")) or 0)
        per_ds[ds][r.get("month")] += n
        pr = per_rule.setdefault((ds, r.get("rule")), {"rows": 0, "months": set()})
        pr["rows"] += n
        if r.get("month"):
            pr["months"].add(r.get("month"))
    quarantine = []
    for ds in sorted(per_ds):
        by_month = per_ds[ds]
        total = sum(by_month.values())
        rules = sorted(((rule, v) for (d, rule), v in per_rule.items() if d == ds), key=lambda kv: -kv[1]["rows"])
        quarantine.append(
            {
                "dataset": ds,
                "total": f"{total:,}",
                "chart": charts.bar_strip(
                    [{"month": m, "rows": v} for m, v in by_month.items() if m],
                    spine,
                    label=f"{ds}: rows quarantined by month of data",
                ),
                "undated": by_month.get(None, 0),
                "rules": [
                    {
                        "rule": rule,
                        "rows": f"{v['rows']:,}",
                        "months": len(v["months"]),
                        "span": f"{month_label(min(v['months']))} to {month_label(max(v['months']))}"
                        if v["months"]
                        else MISSING,
                    }
                    for rule, v in rules
                ],
            }
        )
    new = [
        {
            "dataset": r.get("dataset"),
            "source": r.get("source_name"),
            "check": r.get("expectation"),
            "category": r.get("category"),
            "severity": r.get("severity"),
            "rows": count(r.get("unexpected_count")),
            "percent": MISSING if is_missing(r.get("unexpected_percent")) else f"{float(r['unexpected_percent']):.2f}%",
            "previous": r.get("previous_result"),
        }
        for r in data.dq_new
    ]
    return {"batches": batches, "pass_rows": pass_rows, "quarantine": quarantine, "new": new}


# -- national ------------------------------------------------------------------------------
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
        lo, hi = charts._domain(
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
                "marker": charts.legend_marker(u.get("point_type") or "common_cause"),
                "size": pct_change(u.get("size_pct")),
            }
        )
    return {
        "sections": sections,
        "benefits": benefits,
        "unplanned": unplanned,
        "programme": [programme_row(p, data.measures.get(p.get("measure_code"))) for p in data.programme],
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
