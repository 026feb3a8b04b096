"""From mart rows to what a page shows: the figures, rows and totals every page uses. A site page's
benefit cards are in `benefit_card`, the rest of the site page in `site_view`.

Every figure on a card is a `<span class="fig" data-field=... data-value=...>` carrying the
mart column it shows and its exact value, so a test (or a curious analyst) can check the
printed number against `fact_benefit`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from markupsafe import Markup, escape

from benefits.status import STATUSES
from benefits.value import totals as value_totals

from pipeline.report.format import (
    MISSING,
    SUPPRESSED,
    UnitFormat,
    as_float,
    count,
    gbp,
    is_missing,
    month_label,
    p_value,
    pct_change,
    ratio,
    ratio_words,
    signed_count,
    unit_format,
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


def cost_or_return(value) -> str:
    """A net return; below 0 it is a net cost and says so, never a negative value."""
    v = as_float(value)
    if v is None:
        return MISSING
    return f"net cost {gbp(-v)}" if v < 0 else gbp(v)
