"""`benefits blueprint export|import`: share what a trust learned about a benefit with another trust."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape

from pipeline.cli import app
from pipeline.cli._console import console, err, setup_logging
from pipeline.cli.run import SitesOption, WarehouseOption

blueprint_app = typer.Typer(help="Blueprints: a benefit's definition, result and evidence, for another trust; "
                            "collected nationally, side by side by kind of system.",
                            no_args_is_help=True)  # fmt: skip
app.add_typer(blueprint_app, name="blueprint")


def _site(sites: Path | None, code: str):
    from pipeline.config.sites import ConfigError
    from pipeline.runtime import get_sites

    try:
        found = [s for s in get_sites(sites, [code.upper()]) if s.role == "trust"]
    except ConfigError as e:
        err.print(f"configuration error: {escape(str(e))}", highlight=False)
        raise typer.Exit(2) from None
    if not found:
        err.print(f"--site: no trust {escape(code)!r} in the site configs", highlight=False)
        raise typer.Exit(2)
    return found[0]


def _measure_hashes(site) -> dict[str, str | None]:
    """Measure code -> sha256 of its SQL definition, for the measures this site can use."""
    from pipeline.marts.build import measure_lookup

    return {
        code: hashlib.sha256(m.path.read_bytes()).hexdigest() if m.path is not None and m.path.exists() else None
        for code, m in measure_lookup(site).items()
    }


def _records(wh, sql: str) -> list[dict]:
    frame = wh.query(sql)
    return frame.to_dict("records") if frame is not None else []


@blueprint_app.command("export")
def export_command(
    key: Annotated[str, typer.Argument(metavar="BENEFIT_ID_OR_PROJECT", help="a benefit id, or a project's name")],
    site: Annotated[str, typer.Option("--site", help="the site (ODS code) whose benefit it is")],
    out: Annotated[Path | None, typer.Option("--out", help="write the Blueprint here (default: print it)")] = None,
    sites: SitesOption = None,
    warehouse: WarehouseOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Write a self-contained YAML Blueprint: the benefit definitions, measure definition hashes, ramp,
    valuation and investment, the site's latest result with its interval, the programme-level evidence
    for that system, each project's investment and return, and the evidence items marked `share: true`.
    Aggregates only."""
    setup_logging(verbose)
    from benefits.blueprint import BlueprintError, make_blueprint, select
    from pipeline.cli._preflight import open_warehouse

    config = _site(sites, site)
    try:
        chosen = select(config.benefit_list, key)
    except BlueprintError as e:
        err.print(f"blueprint: {escape(str(e))}", highlight=False)
        raise typer.Exit(2) from None
    _, wh = open_warehouse(warehouse)
    latest: dict[str, dict] = {}
    if wh.table_exists(config.schema, "fact_benefit"):
        latest = {r["benefit_id"]: r for r in _records(wh, f"select * from {config.schema}.fact_benefit where is_latest")}
    programme: dict = {}
    if wh.table_exists("national", "fact_programme_effect"):
        programme = {(r["measure_code"], r["system"]): r for r in _records(wh, "select * from national.fact_programme_effect")}
    returns: dict = {}
    if wh.table_exists(config.schema, "benefit_investment_return"):
        returns = {r["project"]: r for r in _records(
            wh, f"select * from {config.schema}.benefit_investment_return where level = 'project' and project is not null")}
    missing = [b.id for b in chosen if b.id not in latest]
    blueprint = make_blueprint(config.ods_code, chosen, latest=latest, measure_hashes=_measure_hashes(config),
                               programme=programme, projects=config.projects, returns=returns)  # fmt: skip
    text = yaml.safe_dump(blueprint, sort_keys=False, allow_unicode=True, width=100)
    if out is None:
        console.print(text, highlight=False, markup=False, end="")
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out} ({len(chosen)} benefit(s))", highlight=False)
    if missing:
        err.print(f"note: no result yet for {', '.join(missing)} (run `benefits run` first)", highlight=False)


@blueprint_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="a Blueprint YAML file", exists=True, dir_okay=False)],
    site: Annotated[str, typer.Option("--site", help="the site (ODS code) to propose register entries for")],
    out: Annotated[Path | None, typer.Option("--out", help="write the proposed entries here (default: print them)")] = None,
    sites: SitesOption = None,
):
    """Propose register entries for SITE from a Blueprint (the measure mapped to SITE's; go-live and
    baseline left for you to set), validated like any register entry, and print what was added."""
    from benefits.blueprint import BlueprintError, propose

    config = _site(sites, site)
    try:
        blueprint = yaml.safe_load(file.read_text(encoding="utf-8"))
        entries, notes = propose(blueprint if isinstance(blueprint, dict) else {}, config.ods_code, _measure_hashes(config))
    except (BlueprintError, yaml.YAMLError, UnicodeDecodeError) as e:
        err.print(f"{escape(str(file))}: {escape(str(e).splitlines()[0])}", highlight=False)
        raise typer.Exit(2) from None
    text = yaml.safe_dump({"benefits": entries}, sort_keys=False, allow_unicode=True, width=100)
    if out is None:
        console.print(text, highlight=False, markup=False, end="")
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}", highlight=False)
    for note in notes:
        err.print(f"note: {escape(note)}", highlight=False)
    console.print(f"proposed {len(entries)} register entr{'y' if len(entries) == 1 else 'ies'} for {config.ods_code} "
                  f"from {escape(str(blueprint.get('from_site')))}'s Blueprint", highlight=False)  # fmt: skip


def report_collected(collected) -> None:
    """One line per file refused or benefit superseded (on stderr), and the tally."""
    for path, reason in collected.rejected:
        err.print(f"refused {escape(path.name)}: {escape(reason)}", highlight=False)
    for path, reason in collected.superseded:
        err.print(f"note: {escape(path.name)}: {escape(reason)}", highlight=False)
    benefits = sum(len(bp["benefits"]) for _, bp in collected.blueprints)
    console.print(f"collected {len(collected.blueprints)} Blueprint file(s), {benefits} benefit(s); "
                  f"refused {len(collected.rejected)}", highlight=False)  # fmt: skip


@blueprint_app.command("collect")
def collect_command(
    folder: Annotated[Path, typer.Argument(help="a folder of Blueprint YAML files", exists=True, file_okay=False)],
):
    """Check every Blueprint in FOLDER as an import would and list them by kind of system (the
    benefits' project): site, benefit, measure and result. A bad file is named with its reason and
    skipped; the others are still listed. `benefits report --blueprints FOLDER` puts them on the
    report's Blueprints page. Exits 1 when any file was refused."""
    from benefits.blueprint import collect

    collected = collect(folder)
    rows = sorted(
        ((b.get("project") or "No system named", bp["from_site"], b) for _, bp in collected.blueprints for b in bp["benefits"]),
        key=lambda r: (r[0].lower(), r[2]["measure"], r[1]),
    )  # fmt: skip
    system = None
    for kind, site, b in rows:
        if kind != system:
            console.print(kind, style="bold", highlight=False)
            system = kind
        r = b.get("result") or {}
        est, low, high = (r.get(k) for k in ("effect_latest", "effect_latest_low", "effect_latest_high"))
        effect = "no result" if est is None else f"{est:.3g}" + (f" ({low:.3g} to {high:.3g})" if None not in (low, high) else "")
        console.print(f"  {site}  {escape(b['id'])}  {escape(b['measure'])}  {effect}  {r.get('status', '')}",
                      highlight=False)  # fmt: skip
    report_collected(collected)
    if collected.rejected:
        raise typer.Exit(1)
