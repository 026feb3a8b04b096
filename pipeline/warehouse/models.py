"""SQL models: one file per model under sql/, built in dependency order in one transaction.

A model file is a single SELECT (Jinja-templated for the few engine differences and for
per-site marts) with a header of `-- key: value` lines stating at least grain and key, and
one `-- column <name>: <description>` line per output column (mart models must describe
every column; the data dictionary is generated from these lines):

    -- grain: site_code x month
    -- key: site_code, month
    -- materialized: table            (default: table; staging models are views)
    -- description: what the model is for; a following `--` line without a key continues it
    -- column site_code: ODS code of the organisation

The folder gives the schema: staging/ -> staging, measures/ -> measures, marts/national/ ->
national, marts/local/ -> local_<ods> (once per site); a site's local measures (see
pipeline.marts.build) build into measures as local_<ods>_<code>. Dependencies come from the
`schema.model` names a model's SQL mentions. A few steps are Python (`PythonModel`: they
declare their dependencies and write their table on the build's connection), so they run
inside the same transaction as the SQL around them.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jinja2
import sqlalchemy as sa

from pipeline.warehouse.core import Warehouse, ident

_HEADER = re.compile(r"^--\s*([a-z_]+)\s*:\s*(.*)$")
_COLUMN = re.compile(r"^--\s*column\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$")
LAYERS = ("staging", "measures", "marts/national", "marts/local")


def parse_model_header(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """The leading comment block: (`key: value` pairs, column -> description)."""
    header: dict[str, str] = {}
    columns: dict[str, str] = {}
    last: tuple[dict[str, str], str] | None = None
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith("--"):
            if s:
                break
            continue
        col = _COLUMN.match(s)
        m = None if col else _HEADER.match(s)
        if col:
            columns[col.group(1)] = col.group(2).strip()
            last = (columns, col.group(1))
        elif m:
            header[m.group(1)] = m.group(2).strip()
            last = (header, m.group(1))
        elif last and s[2:].strip():
            target, key = last
            target[key] = (target[key] + " " + s[2:].strip()).strip()
    return header, columns


def parse_header(text: str) -> dict[str, str]:
    return parse_model_header(text)[0]


@dataclass
class Model:
    schema: str
    name: str
    path: Path
    template: str
    header: dict[str, str] = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def fqn(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def materialized(self) -> str:
        return self.header.get("materialized", "view" if self.schema == "staging" else "table")

    def render(self, base_context: dict) -> str:
        body = "\n".join(
            ln for ln in self.template.splitlines() if not (_HEADER.match(ln.strip()) or _COLUMN.match(ln.strip()))
        )
        try:
            return _env().from_string(body).render(**base_context, **self.context).strip().rstrip(";")
        except jinja2.TemplateError as e:
            raise RuntimeError(f"model {self.fqn} ({self.path}): template error: {e}") from None


@dataclass
class PythonModel:
    """A model computed in Python: `run(wh, conn, context)` writes `schema.name` on `conn`."""

    schema: str
    name: str
    run: Callable
    deps: tuple[str, ...] = ()
    header: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    materialized: str = "table"

    @property
    def fqn(self) -> str:
        return f"{self.schema}.{self.name}"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(sql_root())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def sql_root() -> Path:
    return Path(str(resources.files("sql")))


def load_model(schema: str, path: Path, context: dict | None = None, name: str | None = None) -> Model:
    text = path.read_text(encoding="utf-8")
    header, columns = parse_model_header(text)
    return Model(schema, name or path.stem, path, text, header, context or {}, columns)


def discover(sites: list[dict], extra: list[Model] | tuple[Model, ...] = ()) -> list[Model]:
    """All SQL models: shared layers once, local marts once per site, plus `extra` (local measures).

    `sites` holds dicts with at least ods_code and schema (local_<ods>).
    """
    root = sql_root()
    models: list[Model] = []
    for layer, schema in (("staging", "staging"), ("measures", "measures"), ("marts/national", "national")):
        for path in sorted((root / layer).glob("*.sql")):
            models.append(load_model(schema, path))
    for site in sites:
        for path in sorted((root / "marts" / "local").glob("*.sql")):
            models.append(load_model(site["schema"], path, {"site": site}))
    models.extend(extra)
    return models


def order(models: list, rendered: dict[str, str]) -> list:
    """Topological order by the `schema.model` names each rendered model mentions."""
    by_fqn = {m.fqn: m for m in models}
    graph: dict[str, set[str]] = {}
    for m in models:
        if isinstance(m, PythonModel):
            refs = set(m.deps)
        else:
            refs = set(re.findall(r"\b([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\b", rendered[m.fqn].lower()))
        graph[m.fqn] = {r for r in refs if r in by_fqn and r != m.fqn}
    return [by_fqn[f] for f in graphlib.TopologicalSorter(graph).static_order()]


def render_all(wh_dialect: str, models: list, context: dict) -> dict[str, str]:
    base = {"dialect": wh_dialect, **context}
    return {m.fqn: m.render(base) for m in models if isinstance(m, Model)}


def build(wh: Warehouse, models: list, context: dict, on_model=None) -> list[str]:
    """Build every model in one transaction, so analysts never see half a refresh."""
    rendered = render_all(wh.dialect, models, context)
    base = {"dialect": wh.dialect, **context}
    built = []
    with wh.begin() as conn:
        for schema in sorted({m.schema for m in models}):
            conn.execute(sa.text(f"create schema if not exists {ident(schema)}"))
        for model in order(models, rendered):
            try:
                if isinstance(model, PythonModel):
                    model.run(wh, conn, base)
                else:
                    wh.create_table_as(conn, model.fqn, rendered[model.fqn], view=model.materialized == "view")
            except sa.exc.DBAPIError as e:
                where = model.path.name if model.path else "python"
                raise RuntimeError(f"model {model.fqn} ({where}) failed: {e.orig}") from None
            built.append(model.fqn)
            if on_model:
                on_model(model)
    return built
