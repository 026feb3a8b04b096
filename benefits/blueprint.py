"""Blueprints: what one trust learned about a benefit, in a file another trust can build its business
case and register from (the programme shared such evidence between sites as "Blueprints").

A Blueprint holds definitions and aggregates only: the benefit entries (measure, baseline method,
ramp, valuation, investment, who gains), each measure's definition hash (so the receiving trust can
tell whether its measure is the same), the site's latest result with its interval, the programme-level
evidence for that kind of system where there is some, each project's investment and return, and
the evidence items the site marked `share: true`. No record-level data and no count at all: the
result carries estimates, intervals and money, never the observed counts or the latest month's
value the national mart may withhold as a small number.

A national programme collects the Blueprints trusts send into one folder (`collect`): each file
is checked as strictly as an import (and refused if it carries any field a Blueprint does not, so
a hand-edited file cannot smuggle counts onto the national page), and the accepted ones are shown
side by side by kind of system (the benefits' `project`, the grouping the programme evidence uses).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from benefits.register import Benefit, EvidenceItem, Investment

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
# What a Blueprint's return carries from a project's benefit_investment_return row: money and
# ratios; the benefit counts stay at home.
RETURN_FIELDS = (
    "as_of_month", "investment_one_off_gbp", "investment_recurring_gbp_per_year", "investment_to_date_gbp",
    "investment_sources", "value_evidenced_gbp", "value_evidenced_gbp_low", "value_evidenced_gbp_high",
    "disbenefit_cost_gbp", "net_return_gbp", "net_return_gbp_low", "net_return_gbp_high", "roi", "roi_low",
    "roi_high", "payback_month",
)  # fmt: skip
TOP_FIELDS = ("format", "made", "from_site", "projects", "returns", "benefits")
BENEFIT_FIELDS = (
    "id", "title", "project", "measure", "measure_definition_sha256", "category", "kind", "ramp_months",
    "baseline_months", "go_live", "direction", "target", "valuation", "investment", "analysis", "who_gains",
    "who_bears_cost", "result", "programme_evidence", "evidence",
)  # fmt: skip
TEXT_FIELDS = {"as_of_month", "status", "its_effect_scale", "its_model", "note", "investment_sources", "payback_month"}


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


def _register_parts(b: Benefit) -> dict:
    """The register's optional parts of a benefit that it sets, in export order."""
    entry: dict = {}
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
    return entry


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
    entry.update(_register_parts(b))
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
    returns: dict[str, dict] | None = None,
    made: dt.date | None = None,
) -> dict:
    """The Blueprint of `benefits` (one, or a project's) of one site.

    `latest`: benefit id -> its latest fact_benefit row; `programme`: (measure, system) -> its
    fact_programme_effect row; `projects`: the site's register projects (their investment travels
    with the benefits that name them); `returns`: project name -> its benefit_investment_return row."""
    if not benefits:
        raise BlueprintError("no benefit to export")
    named = {b.project for b in benefits}
    shared_projects = [
        p.model_dump(mode="json", exclude_none=True) for p in (projects or []) if p.name in named
    ]
    shared_returns = _shared_returns(returns or {}, named)
    return {
        "format": FORMAT,
        "made": (made or dt.date.today()).isoformat(),
        "from_site": site_code,
        **({"projects": shared_projects} if shared_projects else {}),
        **({"returns": shared_returns} if shared_returns else {}),
        "benefits": [
            _entry(b, latest.get(b.id), measure_hashes.get(b.measure), programme.get((b.measure, b.project)))
            for b in benefits
        ],
    }


def _shared_returns(returns: dict[str, dict], named: set) -> list[dict]:
    """The investment returns of the projects the exported benefits name, in project order."""
    return [
        {"project": name, **{k: _plain(row.get(k)) for k in RETURN_FIELDS if _plain(row.get(k)) is not None}}
        for name, row in sorted(returns.items(), key=lambda kv: str(kv[0]))
        if name in named and name is not None
    ]


def select(benefits: list[Benefit], key: str) -> list[Benefit]:
    """The benefit with this id, or every benefit of the project with this name."""
    by_id = [b for b in benefits if b.id == key]
    chosen = by_id or [b for b in benefits if b.project == key]
    if not chosen:
        ids = ", ".join(b.id for b in benefits) or "none"
        projects = ", ".join(sorted({b.project for b in benefits if b.project})) or "none"
        raise BlueprintError(f"{key!r} is neither a benefit id ({ids}) nor a project ({projects}) of this site")
    return chosen


def register_entry(src: dict, site_code: str) -> dict:
    """The register entry a Blueprint's benefit makes at `site_code`, validated; go-live and baseline
    are placeholders that validate (the receiving site's to set)."""
    entry = {
        "id": f"{site_code}-{str(src.get('id')).split('-', 1)[-1]}",
        "title": src.get("title"),
        "project": src.get("project"),
        "measure": src.get("measure"),
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
    except ValidationError as e:
        raise BlueprintError(f"benefit {src.get('id')} does not make a valid register entry: {_first(e)}") from None
    return entry


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
        entry = register_entry(src, site_code)
        entries.append(entry)
        months = src.get("baseline_months")
        notes.append(
            f"{entry['id']}: set go_live (placeholder 2099-01) and a baseline of {months or 'at least 12'} months before "
            "it (placeholder 2097-01 to 2098-12); the investment is the receiving trust's own, so it is not copied"
        )
    return entries, notes


def _first(e: ValidationError) -> str:
    """A pydantic error as one line: where and what, of the first problem."""
    err = e.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ())) or "entry"
    return f"{where}: {err.get('msg')}"


def _only(part, allowed, where: str) -> None:
    if not isinstance(part, dict):
        raise BlueprintError(f"{where}: expected a mapping, got {type(part).__name__}")
    extra = [k for k in part if k not in allowed]
    if extra:
        raise BlueprintError(f"{where}: {extra[0]!r} is not a field a Blueprint carries (aggregates only)")


def _figures(part: dict, where: str) -> None:
    for k, v in part.items():
        if k in TEXT_FIELDS or k == "project":
            continue
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise BlueprintError(f"{where}.{k}: expected a number, got {v!r}")


def check(blueprint) -> None:
    """Refuse a Blueprint that an import would refuse, or that carries anything beyond the fields an
    export writes; the message is one line naming the benefit and field."""
    benefits = _check_top(blueprint)
    for i, p in enumerate(blueprint.get("projects") or []):
        _only(p, ("name", "investment", "who_gains", "who_bears_cost"), f"projects[{i}]")
        if p.get("investment") is not None:
            try:
                Investment.model_validate(p["investment"])
            except ValidationError as e:
                raise BlueprintError(f"project {p.get('name')!r}: investment.{_first(e)}") from None
    for i, r in enumerate(blueprint.get("returns") or []):
        _only(r, ("project", *RETURN_FIELDS), f"returns[{i}]")
        _figures(r, f"returns[{i}] ({r.get('project')})")
    for src in benefits:
        _check_benefit(src, blueprint["from_site"])


def _check_top(blueprint) -> list:
    """The top level: format, fields, who made it and when; returns its benefits (at least one)."""
    if not isinstance(blueprint, dict):
        raise BlueprintError("not a Blueprint: the file is not a YAML mapping")
    if blueprint.get("format") != FORMAT:
        raise BlueprintError(f"not a Blueprint of format {FORMAT} (format: {blueprint.get('format')!r})")
    _only(blueprint, TOP_FIELDS, "top level")
    if not isinstance(blueprint.get("from_site"), str) or not blueprint["from_site"]:
        raise BlueprintError("from_site: missing (the ODS code of the trust that made it)")
    try:
        dt.date.fromisoformat(str(blueprint.get("made")))
    except ValueError:
        raise BlueprintError(f"made: expected a date YYYY-MM-DD, got {blueprint.get('made')!r}") from None
    benefits = blueprint.get("benefits")
    if not isinstance(benefits, list) or not benefits:
        raise BlueprintError("benefits: no benefit in the Blueprint")
    return benefits


def _check_benefit(src, from_site: str) -> None:
    if not isinstance(src, dict):
        raise BlueprintError("benefits: each benefit must be a mapping")
    bid = src.get("id")
    _only(src, BENEFIT_FIELDS, f"benefit {bid}")
    for name in ("id", "title", "measure"):
        if not src.get(name):
            raise BlueprintError(f"benefit {bid}: {name} is missing")
    register_entry(src, from_site)
    if src.get("investment") is not None:
        try:
            Investment.model_validate(src["investment"])
        except ValidationError as e:
            raise BlueprintError(f"benefit {bid}: investment.{_first(e)}") from None
    for part, allowed in (("result", RESULT_FIELDS), ("programme_evidence", PROGRAMME_FIELDS)):
        if src.get(part) is not None:
            _only(src[part], allowed, f"benefit {bid}: {part}")
            _figures(src[part], f"benefit {bid}: {part}")
    for j, item in enumerate(src.get("evidence") or []):
        try:
            EvidenceItem.model_validate(item)
        except ValidationError as e:
            raise BlueprintError(f"benefit {bid}: evidence[{j}].{_first(e)}") from None


@dataclass
class Collected:
    """Blueprints read from a folder: the accepted ones (path, Blueprint), the refused (path, reason)
    and benefits left out because a newer Blueprint of the same site holds them (path, reason)."""

    blueprints: list[tuple[Path, dict]] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)
    superseded: list[tuple[Path, str]] = field(default_factory=list)


def read(path: Path) -> dict:
    """One Blueprint file, checked; BlueprintError (one line) when it cannot be used."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise BlueprintError(f"not valid YAML{at}: {getattr(e, 'problem', None) or type(e).__name__}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BlueprintError(f"cannot be read: {type(e).__name__}") from None
    check(data)
    return data


def collect(folder: Path) -> Collected:
    """Every Blueprint (`*.yaml`, `*.yml`) in `folder`. A bad file is refused with its reason and
    never stops the others; when two Blueprints of one site hold the same benefit, the newer one
    (by `made`, then file name) keeps it."""
    out = Collected()
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in (".yaml", ".yml"))
    read_ok: list[tuple[Path, dict]] = []
    for path in files:
        try:
            read_ok.append((path, read(path)))
        except BlueprintError as e:
            out.rejected.append((path, str(e).splitlines()[0]))
    newest: dict[tuple[str, str], tuple[str, str]] = {}
    for path, bp in read_ok:
        for b in bp["benefits"]:
            key, rank = (bp["from_site"], b["id"]), (str(bp["made"]), path.name)
            newest[key] = max(newest.get(key, rank), rank)
    for path, bp in read_ok:
        kept = []
        for b in bp["benefits"]:
            winner = newest[(bp["from_site"], b["id"])]
            if winner == (str(bp["made"]), path.name):
                kept.append(b)
            else:
                out.superseded.append((path, f"{b['id']}: superseded by {winner[1]} (made {winner[0]})"))
        if kept:
            out.blueprints.append((path, {**bp, "benefits": kept}))
    return out
