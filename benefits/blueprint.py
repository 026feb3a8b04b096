"""Blueprints: what one trust learned about a benefit, in a file another trust can build its business
case and register from (the programme shared such evidence between sites as "Blueprints").

A Blueprint holds definitions and aggregates only: the benefit entries (measure, baseline method,
ramp, valuation, investment, who gains), each measure's definition hash (so the receiving trust can
tell whether its measure is the same), the site's latest result with its interval, the programme-level
evidence for that kind of system where there is some, and the evidence items the site marked
`share: true`. No record-level data and no count below the suppression threshold.
"""

from __future__ import annotations

import datetime as dt
import math

from benefits.register import Benefit

FORMAT = "nhs-benefits-blueprint/1"
# What a Blueprint's result carries from a fact_benefit row: the estimate and its interval, the
# status and the evidenced value; counts (observed, counterfactual) stay at home.
RESULT_FIELDS = (
    "as_of_month", "status", "effect_latest", "effect_latest_low", "effect_latest_high", "its_effect_scale",
    "its_model", "value_evidenced_gbp", "value_gbp_low", "value_gbp_high",
)  # fmt: skip
PROGRAMME_FIELDS = (
    "sites", "meta_rate_ratio", "meta_low", "meta_high", "meta_prediction_low", "meta_prediction_high", "meta_i2",
    "staggered_rate_ratio", "staggered_low", "staggered_high", "note",
)  # fmt: skip


class BlueprintError(ValueError):
    """A Blueprint that cannot be made or used; the message says what to change."""


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def _entry(b: Benefit, latest: dict | None, measure_hash: str | None, programme: dict | None) -> dict:
    entry = {
        "id": b.id,
        "title": b.title,
        "project": b.project,
        "measure": b.measure,
        "measure_definition_sha256": measure_hash,
        "category": b.category.value,
        "kind": b.kind,
        "ramp_months": b.ramp_months,
        "baseline_months": (b.baseline.end.year - b.baseline.start.year) * 12 + b.baseline.end.month - b.baseline.start.month + 1,
        "go_live": f"{b.go_live:%Y-%m}",
    }
    if b.direction is not None:
        entry["direction"] = b.direction.value
    if b.target is not None:
        entry["target"] = {k: _plain(v) for k, v in b.target.model_dump().items() if v is not None}
    for name in ("valuation", "investment", "analysis"):
        part = getattr(b, name)
        if part is not None:
            entry[name] = {k: _plain(v) for k, v in part.model_dump(mode="json").items() if v is not None}
    for name in ("who_gains", "who_bears_cost"):
        if getattr(b, name):
            entry[name] = getattr(b, name)
    if latest:
        entry["result"] = {k: _plain(latest.get(k)) for k in RESULT_FIELDS if _plain(latest.get(k)) is not None}
    if programme:
        entry["programme_evidence"] = {k: _plain(programme.get(k)) for k in PROGRAMME_FIELDS if _plain(programme.get(k)) is not None}
    shared = [e.model_dump(mode="json", exclude={"share"}, exclude_none=True) for e in b.evidence if e.share]
    if shared:
        entry["evidence"] = shared
    return entry


def make_blueprint(
    site_code: str,
    benefits: list[Benefit],
    *,
    latest: dict[str, dict],
    measure_hashes: dict[str, str],
    programme: dict[tuple[str, str], dict],
    projects: list | None = None,
    made: dt.date | None = None,
) -> dict:
    """The Blueprint of `benefits` (one, or a project's) of one site.

    `latest`: benefit id -> its latest fact_benefit row; `programme`: (measure, system) -> its
    fact_programme_effect row; `projects`: the site's register projects (their investment travels
    with the benefits that name them)."""
    if not benefits:
        raise BlueprintError("no benefit to export")
    named = {b.project for b in benefits}
    shared_projects = [
        p.model_dump(mode="json", exclude_none=True) for p in (projects or []) if p.name in named
    ]
    return {
        "format": FORMAT,
        "made": (made or dt.date.today()).isoformat(),
        "from_site": site_code,
        **({"projects": shared_projects} if shared_projects else {}),
        "benefits": [
            _entry(b, latest.get(b.id), measure_hashes.get(b.measure), programme.get((b.measure, b.project)))
            for b in benefits
        ],
    }


def select(benefits: list[Benefit], key: str) -> list[Benefit]:
    """The benefit with this id, or every benefit of the project with this name."""
    by_id = [b for b in benefits if b.id == key]
    chosen = by_id or [b for b in benefits if b.project == key]
    if not chosen:
        ids = ", ".join(b.id for b in benefits) or "none"
        projects = ", ".join(sorted({b.project for b in benefits if b.project})) or "none"
        raise BlueprintError(f"{key!r} is neither a benefit id ({ids}) nor a project ({projects}) of this site")
    return chosen


def propose(blueprint: dict, site_code: str, measures: dict[str, str | None]) -> tuple[list[dict], list[str]]:
    """Register entries a Blueprint proposes for another site, and notes for its author.

    `measures`: the receiving site's measure code -> its definition hash. Go-live and baseline are
    the receiving site's to set: they are filled with placeholders that validate, and the notes
    say so. Each entry is validated as a register entry before it is proposed."""
    if blueprint.get("format") != FORMAT:
        raise BlueprintError(f"not a Blueprint of format {FORMAT} (format: {blueprint.get('format')!r})")
    entries, notes = [], []
    for src in blueprint.get("benefits") or []:
        measure = src.get("measure")
        if measure not in measures:
            raise BlueprintError(f"benefit {src.get('id')}: measure {measure!r} is not defined at {site_code}")
        theirs, ours = src.get("measure_definition_sha256"), measures.get(measure)
        if theirs and ours and theirs != ours:
            notes.append(f"{measure}: {site_code}'s definition differs from {blueprint.get('from_site')}'s; "
                         "compare them before comparing results")  # fmt: skip
        entry = {
            "id": f"{site_code}-{src['id'].split('-', 1)[-1]}",
            "title": src["title"],
            "project": src.get("project"),
            "measure": measure,
            "go_live": "2099-01",
            "ramp_months": src.get("ramp_months", 0),
            "baseline": {"start": "2097-01", "end": "2098-12"},
            "category": src.get("category", "safety_and_quality"),
            "kind": src.get("kind", "planned"),
        }
        for name in ("direction", "valuation", "analysis", "who_gains", "who_bears_cost"):
            if src.get(name) is not None:
                entry[name] = src[name]
        try:
            Benefit.model_validate(entry)
        except ValueError as e:
            raise BlueprintError(f"benefit {src.get('id')} does not make a valid register entry: {e}") from None
        entries.append(entry)
        months = src.get("baseline_months")
        notes.append(
            f"{entry['id']}: set go_live (placeholder 2099-01) and a baseline of {months or 'at least 12'} months before "
            "it (placeholder 2097-01 to 2098-12); the investment is the receiving trust's own, so it is not copied"
        )
    return entries, notes
