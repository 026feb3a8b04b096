"""SQL models: one file per model under sql/, built in dependency order.

A model file is a single SELECT (Jinja-templated for the few engine differences and for
per-site marts) with a header of `-- key: value` lines stating at least grain and key:

    -- grain: site_code x month
    -- key: site_code, month
    -- materialized: table            (default: table; staging models are views)
    -- description: ...

The folder gives the schema: staging/ -> staging, measures/ -> measures, marts/national/ ->
national, marts/local/ -> local_<ods> (once per site), local/<ods>/ -> that site's local
measures. Dependencies come from the `schema.model` names a model's SQL mentions.
"""

from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jinja2
import sqlalchemy as sa

from pipeline.warehouse.core import Warehouse

_HEADER = re.compile(r"^--\s*([a-z_]+)\s*:\s*(.*)$")
LAYERS = ("staging", "measures", "marts/national", "marts/local")


@dataclass
class Model:
    schema: str
    name: str
    path: Path
    template: str
    header: dict[str, str] = field(default_factory=dict)
    context: dict = field(default_factory=dict)

    @property
    def fqn(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def materialized(self) -> str:
        return self.header.get("materialized", "view" if self.schema == "staging" else "table")

    def render(self, base_context: dict) -> str:
        body = "\n".join(ln for ln in self.template.splitlines() if not _HEADER.match(ln.strip()))
        return _env().from_string(body).render(**base_context, **self.context).strip().rstrip(";")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(sql_root())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def parse_header(text: str) -> dict[str, str]:
    header: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith("--"):
            if s:
                break
            continue
        m = _HEADER.match(s)
        if m:
            last = m.group(1)
            header[last] = m.group(2).strip()
        elif last and s[2:].strip():
            header[last] += " " + s[2:].strip()
    return header


def sql_root() -> Path:
    return Path(str(resources.files("sql")))


def discover(sites: list[dict], local_sql_root: Path | None = None) -> list[Model]:
    """All models: shared layers once, local marts once per site, plus each site's local measures.

    `sites` holds dicts with at least ods_code and schema (local_<ods>).
    """
    root = sql_root()
    models: list[Model] = []

    def add(schema: str, path: Path, context: dict | None = None):
        text = path.read_text(encoding="utf-8")
        models.append(Model(schema, path.stem, path, text, parse_header(text), context or {}))

    for layer, schema in (("staging", "staging"), ("measures", "measures"), ("marts/national", "national")):
        for path in sorted((root / layer).glob("*.sql")):
            add(schema, path)
    for site in sites:
        for path in sorted((root / "marts" / "local").glob("*.sql")):
            add(site["schema"], path, {"site": site})
    local_root = local_sql_root or (root / "local")
    for site in sites:
        for path in sorted((local_root / site["ods_code"].lower()).glob("*.sql")):
            add(site["schema"], path, {"site": site})
    return models


def order(models: list[Model], rendered: dict[str, str]) -> list[Model]:
    """Topological order by the `schema.model` names each rendered model mentions."""
    by_fqn = {m.fqn: m for m in models}
    graph: dict[str, set[str]] = {}
    for m in models:
        refs = set(re.findall(r"\b([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\b", rendered[m.fqn].lower()))
        graph[m.fqn] = {r for r in refs if r in by_fqn and r != m.fqn}
    return [by_fqn[f] for f in graphlib.TopologicalSorter(graph).static_order()]


def build(wh: Warehouse, models: list[Model], context: dict, on_model=None) -> list[str]:
    """Build every model in one transaction, so analysts never see half a refresh."""
    base = {"dialect": wh.dialect, **context}
    rendered = {m.fqn: m.render(base) for m in models}
    built = []
    with wh.begin() as conn:
        for model in order(models, rendered):
            try:
                wh.create_table_as(conn, model.fqn, rendered[model.fqn], view=model.materialized == "view")
            except sa.exc.DBAPIError as e:
                raise RuntimeError(f"model {model.fqn} ({model.path.name}) failed: {e.orig}") from None
            built.append(model.fqn)
            if on_model:
                on_model(model)
    return built
