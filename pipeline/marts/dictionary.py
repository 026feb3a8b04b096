"""The data dictionary (docs/data-dictionary.md), generated from what defines the marts.

Sources: the YAML beside every mart model in sql/models/marts/ (description, meta grain and key,
one description per column: dbt's model properties), the measure definitions in sql/models/measures/
and each site's sql/local/<ods>/, the benefits engine's table specs (benefits.tables), and the
suppression rules. The columns themselves are not trusted to the headers: the marts are built
on an empty embedded warehouse and every real column must have a description (and every
description a real column), or generation fails naming the model and the column.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benefits.tables import MART_TABLES
from pipeline.config.sites import SiteConfig
from pipeline.marts.build import (
    build_marts,
    local_measures,
    national_measures,
    site_context,
    write_sites,
)
from pipeline.config.settings import PROJECT_ROOT
from pipeline.marts.suppression import REASONS
from pipeline.warehouse.core import Warehouse
from pipeline.warehouse.ddl import ensure_schema
from pipeline.warehouse.models import discover, local_table, sql_root

DEFAULT_OUTPUT = PROJECT_ROOT / "docs" / "data-dictionary.md"
EXAMPLE_ODS = "ODS"  # the placeholder site the local mart is documented with


class DictionaryError(ValueError):
    """A mart column without a description (or a description of no column)."""


@dataclass
class Column:
    name: str
    type: str
    description: str


@dataclass
class Table:
    schema: str  # national, or local_<ods>
    name: str
    kind: str  # table or view
    grain: str
    key: str
    description: str
    source: str  # where it is defined
    columns: list[Column] = field(default_factory=list)

    @property
    def fqn(self) -> str:
        return f"{self.schema}.{self.name}"


def _example_site() -> SiteConfig:
    return SiteConfig(ods_code=EXAMPLE_ODS, name="Example trust", trust_type="acute", region="Example", role="trust")


def _built_columns() -> dict[str, list[tuple[str, str]]]:
    """Build the marts on an empty DuckDB and read back every mart table's columns and types."""
    site = _example_site()
    with tempfile.TemporaryDirectory(prefix="benefits-docs-") as tmp:
        wh = Warehouse(f"duckdb:///{Path(tmp) / 'dictionary.duckdb'}")
        try:
            ensure_schema(wh, [site.schema])
            write_sites(wh, [site])
            empty_local = Path(tmp) / "local"
            empty_local.mkdir()
            build_marts(wh, [site], suppression_threshold=7, local_sql=empty_local)
            cols = wh.query(
                "select table_schema, table_name, column_name, data_type from information_schema.columns "
                "where table_schema in ('national', :local) order by table_schema, table_name, ordinal_position",
                {"local": site.schema},
            )
        finally:
            wh.dispose()
    out: dict[str, list[tuple[str, str]]] = {}
    for row in cols.itertuples(index=False):
        schema = "local_<ods>" if row.table_schema == site.schema else row.table_schema
        out.setdefault(f"{schema}.{row.table_name}", []).append((row.column_name, str(row.data_type).lower()))
    return out


def _mart_table(model, built: dict[str, list[tuple[str, str]]], problems: list[str]) -> Table:
    """A national mart model as its table, a local mart model as the view a site reads
    (local_<ods>.<table>); what lacks a description is added to `problems`."""
    local = model.path.parent.name == "local" and model.path.parent.parent.name == "marts"
    schema, table = ("local_<ods>", local_table(model)) if local else (model.schema, model.name)
    rel = model.path.relative_to(model.path.parents[3]).as_posix()
    real = built.get(f"{schema}.{table}", [])
    described = dict(model.columns)
    key_columns = model.header.get("key", "")
    if local:  # the site's view: site_code is the same on every row
        key_columns = ", ".join(k for k in (p.strip() for p in key_columns.split(",")) if k != "site_code")
        if model.header.get("site_code_in_view", "").lower() == "false":
            described.pop("site_code", None)
    problems += _undescribed(rel, [n for n, _ in real], described, model.header)
    return Table(schema, table, "view" if local else model.materialized, model.header.get("grain", ""), key_columns,
                 model.header.get("description", ""), f"sql/{rel}", [Column(n, t, described.get(n, "")) for n, t in real])  # fmt: skip


def _undescribed(rel: str, real: list[str], described: dict[str, str], header: dict[str, str]) -> list[str]:
    """A model's columns without a description, descriptions of no column, and missing meta."""
    return (
        [f"{rel}: column {n} has no description in the folder's YAML" for n in real if not described.get(n)]
        + [f"{rel}: the YAML describes a column {n} the model does not have" for n in described if n not in real]
        + [f"{rel}: the YAML lacks {'meta.' if key != 'description' else ''}{key}"
           for key in ("grain", "key", "description") if not header.get(key)]  # fmt: skip
    )


def _is_mart(model) -> bool:
    local = model.path is not None and model.path.parent.name == "local" and model.path.parent.parent.name == "marts"
    return model.schema == "national" or local


def _engine_tables(problems: list[str]) -> list[Table]:
    """The benefits engine's tables (benefits.tables), in each schema they are written to."""
    tables = []
    for spec in MART_TABLES:
        for scope in spec.scopes:
            schema = "national" if scope == "national" else "local_<ods>"
            problems += [f"benefits/tables.py: {spec.name}.{name} has no description"
                         for name, (_, text) in spec.columns.items() if not text]  # fmt: skip
            tables.append(Table(schema, spec.name, "table", spec.grain, spec.key, spec.description,
                                "benefits/tables.py (written by the benefits engine)",
                                [Column(n, t, d) for n, (t, d) in spec.columns.items()]))  # fmt: skip
    return tables


def collect() -> list[Table]:
    """Every mart table and view, described; raises DictionaryError listing what lacks a description."""
    built = _built_columns()
    problems: list[str] = []
    tables = [_mart_table(m, built, problems) for m in discover([site_context(_example_site())]) if _is_mart(m)]
    tables += _engine_tables(problems)
    if problems:
        raise DictionaryError("the data dictionary cannot describe every mart column:\n  " + "\n  ".join(problems))
    return sorted(tables, key=lambda t: (t.schema != "national", t.schema, t.name))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _measure_rows(measures) -> list[str]:
    rows = [
        "| code | name | unit | better | numerator | denominator | finest period | breakdowns |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in measures:
        den = m.denominator if m.has_denominator else "none (a count)"
        if m.multiplier != 1:
            den += f" (value x {m.multiplier:g})"
        rows.append(
            f"| `{m.code}` | {_cell(m.name)} | {_cell(m.unit)} | {m.direction} | {_cell(m.numerator)} | "
            f"{_cell(den)} | {m.period} | {', '.join(m.breakdowns) or 'none'} |"
        )
    return rows


def _intro() -> list[str]:
    """The title, what each schema holds and how to connect."""
    out: list[str] = []
    add = out.append
    add("# Data dictionary")
    add("")
    add(
        "Generated by `benefits docs` from the model properties (YAML) under `sql/models/marts/`, the measure "
        "definitions (`sql/models/measures/`, `sql/local/<ods>/`) and the benefits engine's table specs (`benefits/tables.py`). "
        "Do not edit by hand: a test fails when this file is stale."
    )
    add("")
    add("## Where the data is")
    add("")
    add(
        "- `national`: the national mart, one for the programme: small, comparable and disclosure-safe "
        "(small numbers suppressed, no patient-level data, nothing finer than a month)."
    )
    add(
        "- `local_<ods>` (for example `local_rf4`): one local mart per site, read only by that site: the same "
        "measures weekly and monthly, by ward and by specialty, the site's local measures and all its benefits; "
        "not suppressed."
    )
    add(
        "- `staging`, `quarantine`, `measures`, `meta`, `landing`: the pipeline's working schemas; no analyst role "
        "can read them on PostgreSQL (`benefits warehouse grant`)."
    )
    add("")
    add(
        "Connect with `psql` (PostgreSQL, as `<database>_national_reader` or `<database>_site_<ods>_reader`) or the DuckDB CLI "
        "(`duckdb warehouse/benefits.duckdb`). Fact tables join their dimensions on `site_code`, `measure_code` "
        "and `month`. Worked queries: [analyst-queries.md](analyst-queries.md)."
    )
    add("")
    add("Column types are DuckDB's; on PostgreSQL `varchar` is `character varying`, `double` is `double precision`.")
    add("")
    return out


def _suppression() -> list[str]:
    """How the national mart withholds small numbers, with every suppression reason."""
    out: list[str] = []
    add = out.append
    add("## Small-number suppression (national mart)")
    add("")
    add(
        "Every national figure (an organisation's month, financial quarter and financial year; each region's and "
        "trust type's quarter and year) whose numerator or denominator is a count from 1 to the threshold "
        "(`BENEFITS_SUPPRESSION_THRESHOLD`, default 7) is withheld: `numerator`, `denominator` and `value` are "
        "null and `suppressed` is true. Zero is published. Further figures are withheld so that no withheld "
        "value can be worked out from published ones: not by subtracting the other months from a quarter, the "
        "other quarters from a year, the other organisations from a region or trust-type total, nor by "
        "comparing the region totals with the trust-type totals (both add up to the same national total). "
        "Every withheld figure is checked to be underivable from all published figures together before the "
        "mart is written. `suppression_reason` says why a figure is withheld:"
    )
    add("")
    add("| suppression_reason | meaning |")
    add("|---|---|")
    for code, text in REASONS.items():
        add(f"| `{code}` | {_cell(text)} |")
    add("")
    add(
        "Local marts are not suppressed. `national.fact_benefit` is written by the benefits engine "
        "(see its columns below)."
    )
    add("")
    return out


def _measures(local_root: Path | None) -> list[str]:
    """The national measures, then each site's local measures."""
    out: list[str] = []
    add = out.append
    add("## National core measures")
    add("")
    add("Each is defined once, in `sql/models/measures/<code>.sql`; value = numerator x multiplier / denominator.")
    add("")
    out.extend(_measure_rows(national_measures()))
    add("")
    add("## Local measures")
    add("")
    root = local_root or (sql_root() / "local")
    sites = sorted(p.name for p in root.glob("*") if p.is_dir()) if root.is_dir() else []
    add(
        "A site declares its own measures in `sql/local/<ods>/` (see `sql/local/README.md`); they appear only in "
        "its local mart and its benefits can be tracked on them."
    )
    add("")
    for ods in sites:
        measures = local_measures(ods, root)
        if not measures:
            continue
        add(f"### {ods.upper()} (`local_{ods}`)")
        add("")
        out.extend(_measure_rows(measures))
        add("")
    return out


def _marts(tables: list[Table]) -> list[str]:
    """One section per mart table: description, grain, key, columns."""
    out: list[str] = []
    add = out.append
    for heading, schema in (("National mart: `national`", "national"), ("Local marts: `local_<ods>`", "local_<ods>")):
        add(f"## {heading}")
        add("")
        for t in (t for t in tables if t.schema == schema):
            add(f"### `{t.fqn}`")
            add("")
            add(_cell(t.description))
            add("")
            add(f"- grain: {_cell(t.grain)}")
            add(f"- key: {_cell(t.key)}")
            add(f"- {t.kind}, defined in `{t.source}`")
            add("")
            add("| column | type | description |")
            add("|---|---|---|")
            for c in t.columns:
                add(f"| `{c.name}` | {c.type} | {_cell(c.description)} |")
            add("")
    return out


def render(tables: list[Table], local_root: Path | None = None) -> str:
    out = _intro() + _suppression() + _measures(local_root) + _marts(tables)
    return "\n".join(out).rstrip() + "\n"


def generate(local_root: Path | None = None) -> str:
    return render(collect(), local_root)


def write(path: Path = DEFAULT_OUTPUT, local_root: Path | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(generate(local_root), encoding="utf-8")
    return path


def is_stale(path: Path = DEFAULT_OUTPUT, local_root: Path | None = None) -> bool:
    path = Path(path)
    return not path.exists() or path.read_text(encoding="utf-8") != generate(local_root)
