"""The Blueprints page: what each trust got from each kind of system, side by side.

Built from the Blueprint files a national programme collected (`benefits.blueprint.collect`),
never from the warehouse: a Blueprint is what the trust chose to share, aggregates only. The
kind of system is the benefits' `project`, the grouping the programme evidence uses, so a
system's pooled effect sits beside the sites' own results.
"""

from __future__ import annotations

from itertools import groupby

from markupsafe import Markup, escape

from benefits.blueprint import Collected
from pipeline.report.format import MISSING, as_float, gbp, month_label, ratio_words, words
from pipeline.report.views import Figures, cost_or_return, measure_format, programme_row, slug

NO_SYSTEM = "No system named"


def _effect(f: Figures, result: dict) -> dict:
    kind = "ratio" if result.get("its_effect_scale") == "rate_ratio" else "delta"
    has = as_float(result.get("effect_latest")) is not None
    return {
        "estimate": f("effect_latest", kind) if has else None,
        "low": f("effect_latest_low", kind) if has else None,
        "high": f("effect_latest_high", kind) if has else None,
        "words": ratio_words(result.get("effect_latest")) if has and kind == "ratio" else "",
    }


def _investment(inv: dict | None) -> str:
    if not inv:
        return ""
    parts = [f"{gbp(inv.get('one_off_gbp'))} one-off"] if as_float(inv.get("one_off_gbp")) else []
    if as_float(inv.get("recurring_gbp_per_year")):
        parts.append(f"{gbp(inv.get('recurring_gbp_per_year'))} a year")
    return ", ".join(parts) or gbp(0)


def _tagged(field: str, value, text: str) -> Markup:
    """A figure whose words are not a plain format of its value (a net cost, a percentage with its
    interval), tagged like Figures' so the page can be checked against the Blueprint."""
    v = as_float(value)
    data = "" if v is None else f' data-value="{v!r}"'
    return Markup(f'<span class="fig" data-field="{field}"{data}>{escape(text)}</span>')


def _return(r: dict, site: str, project_investment: dict | None) -> dict:
    f = Figures(r, measure_format(None))
    roi = as_float(r.get("roi"))
    roi_text = MISSING if roi is None else (
        f"{roi * 100:.0f}% ({(as_float(r.get('roi_low')) or 0) * 100:.0f}% to {(as_float(r.get('roi_high')) or 0) * 100:.0f}%)"
    )  # fmt: skip
    return {
        "site": site,
        "as_of": month_label(r.get("as_of_month")) if r.get("as_of_month") else MISSING,
        "invested": f("investment_to_date_gbp", "gbp"),
        "planned": _investment(project_investment),
        "sources": r.get("investment_sources") or "",
        "value": f("value_evidenced_gbp", "gbp"),
        "interval": f"{gbp(r.get('value_evidenced_gbp_low'))} to {gbp(r.get('value_evidenced_gbp_high'))}",
        "disbenefits": f("disbenefit_cost_gbp", "gbp"),
        "net": _tagged("net_return_gbp", r.get("net_return_gbp"), cost_or_return(r.get("net_return_gbp"))),
        "roi": _tagged("roi", roi, roi_text),
        "payback": month_label(r.get("payback_month")) if r.get("payback_month") else "not yet",
    }  # fmt: skip


def blueprint_view(collected: Collected, measures: dict[str, dict], *, source: str) -> dict:
    """`measures`: measure code -> its dictionary row (name and unit), where the warehouse has it;
    a measure it does not know is shown by its code with plain numbers."""
    rows = []
    for path, bp in collected.blueprints:
        site = bp["from_site"]
        projects = {p.get("name"): p for p in bp.get("projects") or []}
        returns = {r.get("project"): r for r in bp.get("returns") or []}
        for b in bp["benefits"]:
            rows.append((b.get("project") or NO_SYSTEM, site, path.name, bp, b, projects, returns))
    rows.sort(key=lambda r: (r[0] == NO_SYSTEM, r[0].lower(), r[4]["measure"], r[1], r[4]["id"]))
    return {
        "systems": [_system(system, list(group), measures) for system, group in groupby(rows, key=lambda r: r[0])],
        "accepted": [p.name for p, _ in collected.blueprints],
        "rejected": [{"file": p.name, "reason": reason} for p, reason in collected.rejected],
        "superseded": [{"file": p.name, "reason": reason} for p, reason in collected.superseded],
        "source": source,
    }


def _system(system: str, group: list[tuple], measures: dict[str, dict]) -> dict:
    """One kind of system: its sites' benefits and returns, and the newest programme evidence per measure."""
    benefits, returns, programme, seen = [], [], {}, set()
    for _, site, file, bp, b, projects, site_returns in group:
        pe = b.get("programme_evidence")
        if pe:
            # Each Blueprint carries the programme evidence as of its making: the newest one speaks.
            old = programme.get(b["measure"])
            if old is None or str(bp["made"]) >= old[0]:
                programme[b["measure"]] = (str(bp["made"]), pe)
        benefits.append(_benefit(site, file, bp, b, measures.get(b["measure"])))
        if system != NO_SYSTEM and (site, system) not in seen and system in site_returns:
            seen.add((site, system))
            returns.append(_return(site_returns[system], site, (projects.get(system) or {}).get("investment")))
    return {
        "name": system,
        "anchor": f"system-{slug(system)}",
        "sites": sorted({r[1] for r in group}),
        "benefits": benefits,
        "returns": returns,
        "programme": [
            programme_row({**pe, "measure_code": code, "system": system}, measures.get(code))
            for code, (_, pe) in sorted(programme.items())
        ],
    }


def _benefit(site: str, file: str, bp: dict, b: dict, measure: dict | None) -> dict:
    result = b.get("result") or {}
    f = Figures(result, measure_format(measure))
    pe = b.get("programme_evidence")
    return {
        "site": site, "file": file, "made": bp["made"], "id": b["id"], "title": b["title"],
        "measure": (measure or {}).get("measure_name") or b["measure"], "measure_code": b["measure"],
        "definition": (b.get("measure_definition_sha256") or "")[:12],
        "status": words(result.get("status")) if result.get("status") else "no result shared",
        "as_of": month_label(result.get("as_of_month")) if result.get("as_of_month") else "",
        "effect": _effect(f, result),
        "value": f("value_evidenced_gbp", "gbp") if as_float(result.get("value_evidenced_gbp")) is not None else None,
        "programme": _programme_words(pe),
        "investment": _investment(b.get("investment")),
        "go_live": b.get("go_live"), "ramp": b.get("ramp_months"),
        "evidence": [{k: e.get(k) for k in ("date", "kind", "text", "author", "reference")}
                     for e in b.get("evidence") or []],
        "who": _who(b),
    }  # fmt: skip


def _programme_words(pe: dict | None) -> str:
    if not (pe and as_float(pe.get("meta_rate_ratio")) is not None):
        return ""
    return (
        f"{pe.get('sites')} sites: {ratio_words(pe.get('meta_rate_ratio'))} (95% CI "
        f"{ratio_words(pe.get('meta_low'))} to {ratio_words(pe.get('meta_high'))})"
    )


def _who(b: dict) -> str:
    """Who gains and who bears the cost, where the Blueprint says."""
    return "; ".join(x for x in (f"gains: {b['who_gains']}" if b.get("who_gains") else "",
                                f"bears the cost: {b['who_bears_cost']}" if b.get("who_bears_cost") else "") if x)  # fmt: skip
