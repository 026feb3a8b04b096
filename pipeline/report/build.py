"""Write the report: `index.html`, `national.html`, `sites/<ODS>.html` and, when a folder of
collected Blueprints is given, `blueprints.html` under one folder.

Every page carries its own styles and script (inlined), so the folder, or any single page of it,
opens without a network and can be mailed or printed on its own. Pages are written to a
temporary name and renamed, so a reader never opens a half-written page.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from pipeline.config.sites import SiteConfig
from benefits.blueprint import Collected, collect
from pipeline.report import blueprint_view, national_view, site_view, views
from pipeline.report.data import NationalData, SiteData, load_national, load_site
from pipeline.report.format import month_label
from pipeline.warehouse.core import Warehouse

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parent / "assets"
INDEX = "index.html"
NATIONAL = "national.html"
BLUEPRINTS = "blueprints.html"
SITES_DIR = "sites"


def site_page(code: str) -> str:
    return f"{SITES_DIR}/{code.upper()}.html"


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(ASSETS)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


@lru_cache(maxsize=1)
def _inline() -> tuple[Markup, Markup]:
    css = (ASSETS / "report.css").read_text(encoding="utf-8")
    js = (ASSETS / "report.js").read_text(encoding="utf-8")
    return Markup(css), Markup(js)


@dataclass
class ReportResult:
    out_dir: Path
    index: Path
    pages: list[Path] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    national: bool = False
    notes: list[str] = field(default_factory=list)
    blueprints: Collected | None = None


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _render(template: str, **context) -> str:
    css, js = _inline()
    return _env().get_template(template).render(css=css, js=js, **context)


def _nav(prefix: str, current: str, site_codes: list[str], national: bool, blueprints: bool = False) -> list[dict]:
    items = [{"text": "All sites", "href": prefix + INDEX, "current": current == INDEX}]
    if national:
        items.append({"text": "National report", "href": prefix + NATIONAL, "current": current == NATIONAL})
    if blueprints:
        items.append({"text": "Blueprints", "href": prefix + BLUEPRINTS, "current": current == BLUEPRINTS})
    for code in site_codes:
        page = site_page(code)
        items.append({"text": code, "href": prefix + page, "current": current == page})
    return items


@dataclass
class _Pages:
    """What every page of one build shares: its folder, when and from what it was made, and the
    navigation to the other pages of the build."""

    out: Path
    generated: str
    source: str
    codes: list[str]
    national: bool
    blueprints: bool

    def write(self, rel: str, template: str, *, prefix: str = "", **context) -> Path:
        page = self.out / rel
        nav = _nav(prefix, rel, self.codes, self.national, self.blueprints)
        _write(page, _render(template, nav=nav, generated=self.generated, source=self.source, **context))
        return page


def build(
    wh: Warehouse,
    sites: list[SiteConfig],
    out_dir: str | Path,
    *,
    site_pages: bool | list[str] = True,
    national: bool = True,
    blueprints: str | Path | None = None,
) -> ReportResult:
    """Build the HTML report from the warehouse marts into `out_dir`; returns what was written.

    `site_pages`: True for every configured trust, a list of ODS codes for those only, False for
    none. `national`: write the national page (national mart only). `blueprints`: a folder of
    collected Blueprint files, shown by kind of system on their own page (a file that is not a
    valid Blueprint is listed with its reason, never shown). The index is always written and links
    only to pages written in this build.
    """
    out = Path(out_dir).resolve()
    trusts = [s for s in sites if s.role == "trust"]
    chosen = _chosen(trusts, site_pages)
    codes = [s.ods_code for s in chosen]
    generated = dt.datetime.now().strftime("%d %b %Y %H:%M")
    source = {"duckdb": "embedded DuckDB warehouse", "postgresql": "PostgreSQL warehouse"}.get(wh.dialect, wh.dialect)
    result = ReportResult(out_dir=out, index=out / INDEX, sites=codes, national=national)

    nat: NationalData = load_national(wh)
    result.notes.extend(nat.notes)
    if blueprints is not None:
        folder = Path(blueprints)
        if not folder.is_dir():
            raise ValueError(f"--blueprints: {folder} is not a folder")
        result.blueprints = collect(folder)
    pages = _Pages(out, generated, source, codes, national, blueprints is not None)

    site_views = []
    for site in chosen:
        data = load_site(wh, site)
        result.notes.extend(data.notes)
        v = site_view.site_view(data, index_link="../" + INDEX, national_link=("../" + NATIONAL) if national else None)
        result.pages.append(_site_page(pages, site, data, v))
        site_views.append((site, data, v))
    if national:
        links = {s.ods_code: site_page(s.ods_code) for s in chosen}
        result.pages.append(_national_page(pages, nat, links))
    if result.blueprints is not None:
        result.pages.append(_blueprints_page(pages, result.blueprints, nat, Path(blueprints).name))
    result.pages.insert(0, _index_page(pages, nat, trusts, site_views))
    log.info("report: %d pages written to %s", len(result.pages), out)
    return result


def _chosen(trusts: list[SiteConfig], site_pages: bool | list[str]) -> list[SiteConfig]:
    """The trusts whose pages this build writes; an ODS code that is no configured trust is an error."""
    if site_pages is True:
        return trusts
    if not site_pages:
        return []
    wanted = {c.upper() for c in site_pages}
    chosen = [s for s in trusts if s.ods_code in wanted]
    unknown = wanted - {s.ods_code for s in chosen}
    if unknown:
        raise ValueError(f"no configured trust with ODS code {', '.join(sorted(unknown))}")
    return chosen


def _site_page(pages: _Pages, site: SiteConfig, data: SiteData, v: dict) -> Path:
    return pages.write(
        site_page(site.ods_code),
        "site.html",
        prefix="../",
        title=f"{site.ods_code} benefits report",
        heading=v["title"],
        meta=f"{site.region} · {site.trust_type.replace('_', ' ')} trust · data to {v['as_of']}",
        body_class="site-page",
        notes=data.notes,
        v=v,
    )


def _national_page(pages: _Pages, nat: NationalData, site_links: dict[str, str]) -> Path:
    nv = national_view.national_view(nat, index_link=INDEX, site_links=site_links)
    return pages.write(
        NATIONAL,
        "national.html",
        title="National benefits report",
        heading="National report: core measures",
        meta="Every configured site's national core measures, by quarter and financial year",
        body_class="national-page",
        notes=nat.notes,
        v=nv,
    )


def _blueprints_page(pages: _Pages, collected: Collected, nat: NationalData, source: str) -> Path:
    bv = blueprint_view.blueprint_view(collected, nat.measures, source=source)
    return pages.write(
        BLUEPRINTS,
        "blueprints.html",
        title="Blueprints by system",
        heading="Blueprints: what each trust got, by kind of system",
        meta=f"{len(collected.blueprints)} Blueprint files from "
        f"{len({bp['from_site'] for _, bp in collected.blueprints})} trusts · {len(bv['systems'])} kinds of system",
        body_class="blueprints-page",
        notes=[],
        v=bv,
    )


def _index_page(pages: _Pages, nat: NationalData, trusts: list[SiteConfig], site_views: list[tuple]) -> Path:
    """The index: the sites of this build from their local marts; in a national-only build the
    national-scope benefits from the national mart (small counts withheld)."""
    if site_views:
        index_sites, all_benefits = _local_index(site_views)
        scope_note = None
    else:
        index_sites, all_benefits = _national_index(nat, trusts)
        scope_note = (
            "National-scope benefits only, from the national mart; each site's full report is built from its own "
            "local mart."
        )
    return pages.write(
        INDEX,
        "index.html",
        title="Benefits realisation report",
        heading="Benefits realisation: all sites",
        meta=f"{len(index_sites)} sites · generated {pages.generated}",
        body_class="index-page",
        notes=nat.notes,
        sites=index_sites,
        summary=views.summary_totals(all_benefits),
        regions=national_view.region_view(nat),
        national_link=NATIONAL if pages.national else None,
        blueprints_link=BLUEPRINTS if pages.blueprints else None,
        scope_note=scope_note,
    )


def _local_index(site_views: list[tuple]) -> tuple[list[dict], list[dict]]:
    index_sites: list[dict] = []
    all_benefits: list[dict] = []
    for site, data, v in site_views:
        index_sites.append(
            {
                "code": site.ods_code,
                "name": site.name,
                "region": site.region,
                "trust_type": site.trust_type.replace("_", " "),
                "link": site_page(site.ods_code),
                "as_of": v["as_of"],
                "rows": [
                    views.benefit_row(
                        b,
                        data.measures.get(b.get("measure_code")),
                        link=f"{site_page(site.ods_code)}#benefit-{views.slug(b['benefit_id'])}",
                    )
                    for b in data.benefits
                ],
            }
        )
        all_benefits.extend(data.benefits)
    return index_sites, all_benefits


def _national_index(nat: NationalData, trusts: list[SiteConfig]) -> tuple[list[dict], list[dict]]:
    index_sites: list[dict] = []
    all_benefits: list[dict] = []
    by_site: dict[str, list[dict]] = {}
    for b in nat.benefits:
        by_site.setdefault(b.get("site_code"), []).append(b)
    # A federated collector has no site configs: the sites are those the national mart knows.
    listed = [(s.ods_code, s.name, s.region, s.trust_type) for s in trusts] or [
        (s["site_code"], s.get("site_name") or s["site_code"], s.get("region"), s.get("trust_type") or "unknown")
        for s in nat.sites
    ]
    for code, name, region, trust_type in listed:
        rows = by_site.get(code, [])
        index_sites.append(
            {
                "code": code,
                "name": name,
                "region": region,
                "trust_type": trust_type.replace("_", " "),
                "link": None,
                "as_of": month_label(max(b["as_of_month"] for b in rows)) if rows else None,
                "rows": [
                    views.benefit_row(b, nat.measures.get(b.get("measure_code")), link=None, national=True)
                    for b in rows
                ],
            }
        )
        all_benefits.extend(rows)
    return index_sites, all_benefits
