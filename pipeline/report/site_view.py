"""A site's page: its benefits' rows and cards, unplanned changes and their triage, returns,
observed benefits, restatements and data quality, from the site's local mart."""

from __future__ import annotations

from benefits.triage import signal_id

from pipeline.report.benefit_card import benefit_card
from pipeline.report.data import SiteData
from pipeline.report.dq_view import dq_view
from pipeline.report.format import MISSING, as_float, count, day_label, gbp, is_missing, month_label, pct_change, words
from pipeline.report.spc_chart import legend_marker
from pipeline.report.views import benefit_row, cost_or_return, measure_format, slug, summary_totals


TRIAGE_WORDS = {
    "new": "new: to triage (`benefits signals accept|reject`)",
    "accepted_benefit": "accepted as an unanticipated benefit",
    "accepted_disbenefit": "accepted as a disbenefit",
    "rejected": "rejected",
}


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
    cards = _cards(data)
    rows = [
        benefit_row(b, data.measures.get(b.get("measure_code")), link=f"#benefit-{slug(b['benefit_id'])}")
        for b in data.benefits
    ]
    decided = {t["signal_id"]: t for t in data.triage}
    return {
        "site": site,
        "title": f"{site.name} ({site.ods_code})",
        "as_of": month_label(data.as_of) if data.as_of else MISSING,
        "summary": summary_totals(data.benefits),
        "rows": rows,
        "cards": cards,
        "missing_benefits": [b for b in site.benefit_list if b.id not in {c["id"] for c in cards}],
        "unplanned": [_unplanned_row(u, data, decided) for u in data.unplanned],
        "decisions": _decisions(data),
        "returns": [return_row(r) for r in data.returns],
        "observed": [_observed_row(o) for o in data.observed],
        "restatements": [_restatement_row(r) for r in data.restatements],
        "planned_measures": {b.measure for b in site.benefit_list},
        "dq": dq_view(data),
        "notes": data.notes,
        "index_link": index_link,
        "national_link": national_link,
    }


def _cards(data: SiteData) -> list[dict]:
    """Each benefit's card, with the evidence recorded for it."""
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
        c["evidence"] = [_evidence_row(e) for e in data.evidence.get(c["id"], [])]
    return cards


def _evidence_row(e: dict) -> dict:
    return {"date": day_label(e.get("evidence_date")), "kind": e.get("kind"), "text": e.get("text"),
            "author": e.get("author"), "reference": e.get("reference")}  # fmt: skip


def _unplanned_row(u: dict, data: SiteData, decided: dict[str, dict]) -> dict:
    """An unplanned change the scan found, with its triage decision if one was made."""
    m = data.measures.get(u.get("measure_code"))
    fmt = measure_format(m)
    sid = signal_id(u.get("site_code") or data.site.ods_code, u.get("measure_code"), u.get("point_type"), u.get("first_month"))
    t = decided.get(sid, {})
    return {
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


def _decisions(data: SiteData) -> list[dict]:
    """Triage decisions made (a signal still new shows here only if it was decided before)."""
    return [
        _decision_row(t, data.measures) for t in data.triage if t.get("state") != "new" or t.get("previous_decision")
    ]


def _decision_row(t: dict, measures: dict[str, dict]) -> dict:
    return {"id": t["signal_id"], "measure": (measures.get(t.get("measure_code")) or {}).get("measure_name")
            or t.get("measure_code"), "from": month_label(t.get("first_month")), "state": TRIAGE_WORDS.get(t.get("state"), t.get("state")),
            "reason": t.get("reason") or "", "note": t.get("note") or "", "by": t.get("decided_by") or "",
            "previous": t.get("previous_decision") or ""}  # fmt: skip


def _observed_row(o: dict) -> dict:
    return {"id": o["observation_id"], "kind": o.get("kind"), "title": o.get("title"), "narrative": o.get("narrative"),
            "project": o.get("project") or "", "gains": o.get("who_gains") or MISSING,
            "bears": o.get("who_bears_cost") or MISSING, "from": month_label(o.get("observed_from")),
            "by": o.get("recorded_by")}  # fmt: skip


def _restatement_row(r: dict) -> dict:
    return {
        "benefit": r.get("benefit_id"),
        "month": month_label(r.get("as_of_month")),
        "field": words(r.get("field") or ""),
        "published": r.get("published_value") or MISSING,
        "current": r.get("current_value") or MISSING,
        "cause": "the benefit's register entry was edited" if r.get("cause") == "register" else "new or corrected data",
    }
