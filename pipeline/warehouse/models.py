"""SQL models: the dbt project in sql/, built by this runner in dependency order in one transaction.

sql/ is a dbt project (sql/dbt_project.yml; `dbt build` runs it too, see docs/architecture.md).
This runner keeps what dbt does not give us in one step (one transaction, the Python
suppression step between the measures and the national tables, and the per-site views of the
local marts in the same transaction) and follows dbt's conventions, so there is one copy of every model:

- a model is one SELECT in sql/models/<layer>/<name>.sql; its description, `meta: {grain, key}`
  and column descriptions are in the folder's YAML (the key is also a `unique_key` data test);
- it names other models with `{{ ref('name') }}` and the pipeline's tables with
  `{{ source('schema', 'table') }}` (declared in sql/models/sources.yml); the dependencies are
  exactly the ref() and source() calls made while rendering, no text scanning;
- shared SQL is a macro with arguments in sql/macros/ (loaded as globals, as dbt does);
- run-time inputs are `var('name')` (measures, calendar, trusts, ...), given by the caller here and
  as `--vars` to dbt (pipeline.marts.dbt);
- `{{ config(materialized='view') }}` makes a view (default: staging views, other tables).

The folder gives the schema: staging/ -> staging, measures/ -> measures, marts/national/ ->
national, marts/local/ -> measures.<table>_all, built once over every site (var `trusts`), which
each site reads as the view local_<ods>.<table> of its own rows (`publish_local_views`, a step of
the build); mart files are prefixed national_/local_ because dbt model names are global, and the
prefix is not part of the table name (dbt: macros/dbt/generate_alias_name.sql). A site's local
measures (see pipeline.marts.build) build into measures as local_<ods>_<code> and are ref()'d by
their code. A few steps are Python
(`PythonModel`: they declare their dependencies and write their table on the build's
connection), so they run inside the same transaction as the SQL around them.
"""

from __future__ import annotations

import contextvars
import graphlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import jinja2
import sqlalchemy as sa
import yaml

from dataset_contracts.contracts import CONTRACTS
from pipeline.warehouse import incremental
from pipeline.warehouse.core import Warehouse, ident, sql_literal
from pipeline.warehouse.site_views import existing_relations, site_views

_HEADER = re.compile(r"^--\s*([a-z_]+)\s*:\s*(.*)$")
_COLUMN = re.compile(r"^--\s*column\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)$")
_MATERIALIZED = re.compile(r"\{\{\s*config\(\s*materialized\s*=\s*['\"](\w+)['\"]")
LAYERS = {"staging": "staging", "measures": "measures", "marts/national": "national"}  # marts/local: local_mart_models
_MART_PREFIX = {"marts/national": "national_", "marts/local": "local_"}
ALL_SITES_SUFFIX = "_all"  # a local mart model's table over every site: measures.<table>_all
_MISSING = object()


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
    name: str  # the table (dbt: alias)
    path: Path
    template: str
    header: dict[str, str] = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    node: str = ""  # the dbt model name other models ref()
    config: dict = field(default_factory=dict)  # its config() call's arguments, once rendered

    def __post_init__(self):
        self.node = self.node or self.path.stem

    @property
    def fqn(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def materialized(self) -> str:
        m = _MATERIALIZED.search(self.template)
        return m.group(1) if m else self.header.get("materialized", "view" if self.schema == "staging" else "table")

    def render(self, base_context: dict, resolver: "Resolver", incremental: bool = False,
               body: str | None = None) -> tuple[str, set[str]]:  # fmt: skip
        """The SQL, and the fqns of the models and sources it ref()s; `incremental`: as
        is_incremental() is true (pipeline.warehouse.incremental); `body`: another template in the
        model's context (the delete of an incremental refresh)."""
        if body is None:
            body = "\n".join(
                ln for ln in self.template.splitlines() if not (_HEADER.match(ln.strip()) or _COLUMN.match(ln.strip()))
            )
        calls = _Calls(self, {**base_context, **self.context}, resolver, incremental)
        token = _CURRENT.set(calls)
        try:
            sql = _env().from_string(body).render()
        except (jinja2.TemplateError, KeyError) as e:
            raise RuntimeError(f"model {self.fqn} ({self.path}): template error: {e}") from None
        finally:
            _CURRENT.reset(token)
        if calls.configured:
            self.config = calls.configured
        return sql.strip().rstrip(";"), calls.deps


class Resolver:
    """dbt names -> schema-qualified names, for the models of one build and the declared sources."""

    def __init__(self, models: list):
        self.by_node: dict[str, list] = {}
        for m in models:
            self.by_node.setdefault(getattr(m, "node", "") or m.name, []).append(m)
        self.sources = sources()

    def ref(self, name: str, caller) -> str:
        found = self.by_node.get(name, [])
        if len(found) != 1:
            raise KeyError(f"ref({name!r}): {'no' if not found else 'more than one'} model of that name")
        return found[0].fqn

    def source(self, source_name: str, table: str) -> str:
        if (source_name, table) not in self.sources:
            raise KeyError(f"source({source_name!r}, {table!r}) is not declared in sql/models/sources.yml")
        return f"{self.sources[(source_name, table)]}.{table}"


class _Calls:
    """ref(), source(), var() and config() for one model's rendering; records what it depends on."""

    def __init__(self, model: Model, context: dict, resolver: Resolver, incremental: bool = False):
        self.model, self.context, self.resolver, self.incremental = model, context, resolver, incremental
        self.deps: set[str] = set()
        self.configured: dict = {}

    def ref(self, name: str) -> str:
        fqn = self.resolver.ref(name, self.model)
        self.deps.add(fqn)
        return fqn

    def source(self, source_name: str, table: str) -> str:
        fqn = self.resolver.source(source_name, table)
        self.deps.add(fqn)
        return fqn

    def var(self, name: str, default=_MISSING):
        if name in self.context:
            return self.context[name]
        if default is _MISSING:
            raise KeyError(f"var({name!r}) is not set")
        return default

    def config(self, **kwargs) -> str:
        self.configured.update(kwargs)
        return ""

    def is_incremental(self) -> bool:
        return self.incremental


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


_CURRENT: contextvars.ContextVar[_Calls] = contextvars.ContextVar("model_calls")


def _dispatch(name: str) -> Callable:
    """ref/source/var/config as globals, so macros see them too (macros do not see a caller's context)."""

    def call(*args, **kwargs):
        return getattr(_CURRENT.get(), name)(*args, **kwargs)

    call.__name__ = name
    return call


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    """Jinja as dbt configures it (the `do` statement), plus every macro under sql/macros/ as a global."""
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.do"]
    )
    env.globals.update({name: _dispatch(name) for name in ("ref", "source", "var", "config", "is_incremental")})
    files = [p for p in sorted((sql_root() / "macros").rglob("*.sql")) if p.parent.name != "dbt"]  # dbt/: dbt's hooks
    for _ in range(2):  # twice: a template copies the globals it is made with, so macros see the ones loaded after
        for path in files:
            module = env.from_string(path.read_text(encoding="utf-8")).module
            env.globals.update({k: v for k, v in vars(module).items() if isinstance(v, jinja2.runtime.Macro)})
    return env


def sql_root() -> Path:
    return Path(str(resources.files("sql")))


def models_root() -> Path:
    return sql_root() / "models"


@lru_cache(maxsize=1)
def sources() -> dict[tuple[str, str], str]:
    """(source name, table) -> schema, from sql/models/sources.yml, and every dataset contract's
    staging and quarantine table (which `benefits docs` writes into that file for dbt)."""
    doc = yaml.safe_load((models_root() / "sources.yml").read_text(encoding="utf-8"))
    declared = {(s["name"], t["name"]): s.get("schema", s["name"]) for s in doc["sources"] for t in s["tables"]}
    return {**{(layer, name): layer for layer in ("staging", "quarantine") for name in CONTRACTS}, **declared}


@lru_cache(maxsize=None)
def model_docs(folder: Path) -> dict[str, dict]:
    """A folder's YAML model properties by model name (description, config.meta, columns)."""
    out: dict[str, dict] = {}
    for path in sorted(folder.glob("*.yml")):
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            out[entry["name"]] = entry
    return out


def load_model(schema: str, path: Path, context: dict | None = None, name: str | None = None,
               node: str | None = None) -> Model:
    """A model; its description, grain, key and columns from the folder's YAML, else from its
    `-- key: value` header (a site's local measures keep theirs)."""
    text = path.read_text(encoding="utf-8")
    header, columns = parse_model_header(text)
    doc = model_docs(path.parent).get(path.stem)
    if doc:
        header, columns = _documented(header, doc)
    table = name or path.stem
    layer = path.parent.relative_to(models_root()).as_posix() if path.is_relative_to(models_root()) else ""
    prefix = _MART_PREFIX.get(layer)
    if name is None and prefix and table.startswith(prefix):
        table = table[len(prefix):] + (ALL_SITES_SUFFIX if layer == "marts/local" else "")
    return Model(schema, table, path, text, header, context or {}, columns, node or path.stem)


def _documented(header: dict[str, str], doc: dict) -> tuple[dict[str, str], dict[str, str]]:
    """The header and column descriptions as the model's YAML entry gives them (dbt's `config.meta` or `meta`)."""
    meta = (doc.get("config") or {}).get("meta") or doc.get("meta") or {}
    header = {**header, **{k: str(v) for k, v in meta.items() if k in ("grain", "key", "site_code_in_view")}}
    if doc.get("description"):
        header["description"] = " ".join(str(doc["description"]).split())
    columns = {c["name"]: " ".join(str(c.get("description", "")).split()) for c in doc.get("columns", [])}
    return header, columns


def discover(sites: list[dict], extra: list[Model] | tuple[Model, ...] = ()) -> list:
    """All models: shared layers, the local marts once for every site, their views, plus `extra`
    (local measures).

    `sites` holds dicts with at least ods_code and schema (local_<ods>). A local mart model builds
    `measures.<table>_all` over every site (var `trusts`), and one step gives each site
    `local_<ods>.<table>` as a view of its rows: the number of models does not grow with the sites.
    """
    root = models_root()
    models: list = []
    for layer in ("staging", "measures", "marts/national"):
        for path in sorted((root / layer).glob("*.sql")):
            models.append(load_model(LAYERS[layer], path))
    local = local_mart_models()
    models.extend(local)
    models.append(local_views_model(local, {s["ods_code"]: s["schema"] for s in sites}))
    models.extend(extra)
    return models


def local_mart_models() -> list[Model]:
    """The local mart models (sql/models/marts/local), each the table measures.<table>_all."""
    return [load_model("measures", path) for path in sorted((models_root() / "marts" / "local").glob("*.sql"))]


def local_table(model: Model) -> str:
    """The site's view a local mart model is read through: `<table>` of `measures.<table>_all`."""
    return model.name.removesuffix(ALL_SITES_SUFFIX)


def local_views_model(local: list[Model], schemas: dict[str, str]) -> PythonModel:
    """The step that gives every site (ODS code -> schema) a view of its rows of each local mart model."""

    def run(wh: Warehouse, conn: sa.Connection, context: dict) -> None:
        publish_local_views(wh, conn, local, schemas)

    return PythonModel("measures", "local_views", run, deps=tuple(m.fqn for m in local))


def publish_local_views(wh: Warehouse, conn: sa.Connection, local: list[Model], schemas: dict[str, str]) -> None:
    """`local_<ods>.<table>` for each site and local mart model; the columns are the all-sites
    table's, without site_code where the model's YAML says the site's table has none
    (`meta: {site_code_in_view: false}`: a dimension, whose rows repeat for every site)."""
    if not local:
        return
    for schema in sorted(set(schemas.values())):
        conn.execute(sa.text(f"create schema if not exists {ident(schema)}"))
    names = [m.name for m in local]
    rows = conn.execute(
        sa.text(
            "select table_name, column_name from information_schema.columns where table_schema = 'measures' "
            f"and table_name in ({', '.join(sql_literal(n) for n in names)}) order by table_name, ordinal_position"
        )
    ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    existing = existing_relations(conn, schemas.values(), [local_table(m) for m in local])
    for model in local:
        cols = columns[model.name]
        if str(model.header.get("site_code_in_view", "true")).lower() == "false":
            cols = [c for c in cols if c != "site_code"]
        site_views(conn, wh, schemas, model.fqn, local_table(model), cols, existing)


def order(models: list, deps: dict[str, set[str]]) -> list:
    """Topological order by each model's ref() and source() calls (PythonModels declare theirs)."""
    by_fqn = {m.fqn: m for m in models}
    graph: dict[str, set[str]] = {}
    for m in models:
        refs = set(m.deps) if isinstance(m, PythonModel) else deps[m.fqn]
        graph[m.fqn] = {r for r in refs if r in by_fqn and r != m.fqn}
    return [by_fqn[f] for f in graphlib.TopologicalSorter(graph).static_order()]


def render_all(wh_dialect: str, models: list, context: dict) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Every SQL model's SQL and dependencies (fqns)."""
    base = {"dialect": wh_dialect, **context}
    resolver = Resolver(models)
    rendered, deps = {}, {}
    for m in models:
        if isinstance(m, Model):
            rendered[m.fqn], deps[m.fqn] = m.render(base, resolver)
    _refuse_bare_names(models, rendered, deps)
    return rendered, deps


def _refuse_bare_names(models: list, rendered: dict[str, str], deps: dict[str, set[str]]) -> None:
    """A model that names another model of the build as schema.table, not through ref(), would be
    built in no particular order relative to it: refuse it, saying what to write instead (a site's
    local measure written before sql/ became a dbt project does this)."""
    nodes = {m.fqn: getattr(m, "node", m.name) for m in models}
    for fqn, sql in rendered.items():
        code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
        bare = set(re.findall(r"\b([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\b", code.lower())) & set(nodes)
        bare -= deps[fqn]
        if bare:
            model = next(m for m in models if m.fqn == fqn)
            fixes = ", ".join(f"{{{{ ref('{nodes[b]}') }}}} for {b}" for b in sorted(bare))
            raise RuntimeError(f"model {fqn} ({model.path}): names other models directly; write {fixes}")


def build(wh: Warehouse, models: list, context: dict, on_model=None, full_refresh: bool = False) -> list[str]:
    """Build every model in one transaction, so analysts never see half a refresh. Incremental
    models (pipeline.warehouse.incremental) refresh only the site-months loads changed, unless
    `full_refresh` or what they are built from changed."""
    rendered, deps = render_all(wh.dialect, models, context)
    base = {"dialect": wh.dialect, **context}
    built = []
    with wh.begin() as conn:
        for schema in sorted({m.schema for m in models}):
            conn.execute(sa.text(f"create schema if not exists {ident(schema)}"))
        has_incremental = any(getattr(m, "materialized", "") == "incremental" for m in models)
        plan = incremental.plan(conn, models, rendered, context, full_refresh) if has_incremental else None
        resolver = Resolver(models)
        for model in order(models, deps):
            try:
                if isinstance(model, PythonModel):
                    model.run(wh, conn, base)
                elif plan and model.fqn in plan.incremental:
                    _refresh_months(conn, model, {**base, "changed_months": plan.changed}, resolver)
                else:
                    wh.create_table_as(conn, model.fqn, rendered[model.fqn], view=model.materialized == "view")
            except sa.exc.DBAPIError as e:
                where = model.path.name if model.path else "python"
                raise RuntimeError(f"model {model.fqn} ({where}) failed: {e.orig}") from None
            built.append(model.fqn)
            if on_model:
                on_model(model)
        if plan:
            incremental.record(conn, models, plan)
    return built


def plan_build(wh: Warehouse, models: list, context: dict):
    """The incremental plan build() would follow now, read in a transaction that is rolled back."""
    rendered, _ = render_all(wh.dialect, models, context)
    with wh.connect() as conn:
        try:
            return incremental.plan(conn, models, rendered, context, False)
        finally:
            conn.rollback()


def _refresh_months(conn: sa.Connection, model: Model, context: dict, resolver: Resolver) -> None:
    """An incremental model's changed site-months: deleted, then inserted from its SELECT as
    is_incremental() renders it (restricted to those site-months)."""
    if not context["changed_months"]:
        return
    site, at = model.config.get("month_key") or ("", "")
    if not (site and at):
        raise RuntimeError(f"model {model.fqn} ({model.path}): an incremental model needs month_key=[site column, date column]")
    where, _ = model.render(context, resolver, body=f"{{{{ changed_months({site!r}, {at!r}) }}}}")
    select, _ = model.render(context, resolver, incremental=True)
    conn.execute(sa.text(f"delete from {model.fqn} where {where}"))
    conn.execute(sa.text(f"insert into {model.fqn} {select}"))
