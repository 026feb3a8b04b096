"""Incremental models in the runner: recompute only the site-months that loads changed.

A model configured as dbt configures one,

    {{ config(materialized='incremental', incremental_strategy='delete+insert',
              unique_key=[...], month_key=['site_code', 'day']) }}
    select ... from {{ ref('stg_...') }} where ...
    {% if is_incremental() %} and {{ changed_months('site_code', 'scheduled_at') }} {% endif %}

is built by the runner either in full (create table as, as every other model) or, when nothing
but loaded data changed since its last build, by deleting the changed site-months from its table
(`month_key`: the site column and the date column of the table) and inserting them again from the
same SELECT restricted to those site-months (`changed_months`, sql/macros/changed_months.sql, reads
the var `changed_months`). Both happen inside the build's one transaction, and so does the
bookkeeping below, so a failed build leaves the tables and what they were built from as they were.

What changed is read from meta.load_batch: every batch that loads, reloads, holds or supersedes a
site's data records the site and the months it replaced. The build keeps one signature per batch
(meta.incremental_batch: id, status, months, superseded_by, rows) as it saw them; a batch that is
new, whose signature differs, or that has gone marks its site-months changed (all of a site's
months when the batch names none). The model is rebuilt in full instead when the build's
fingerprint (meta.incremental_model) differs: every model's template and rendered SQL, the vars,
and the columns of the tables the models read (staging, quarantine, meta), so a change of any SQL,
var or schema rebuilds. A model whose table is missing is built in full, and `full_refresh` forces it.

A model may be incremental only if each of its site-months is computed from the same site-month
of what it reads (its source's `_period` month is the month of the date in `month_key`), and it
reads only staging data and other models under the same rule; the models that meet it are named in
docs/architecture.md, with why the others are not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

import sqlalchemy as sa


MODEL_STATE = "meta.incremental_model"
BATCH_STATE = "meta.incremental_batch"
VERSION = "1"  # bump when the runner's incremental behaviour changes: every incremental model rebuilds
_SOURCE_SCHEMAS = ("staging", "quarantine", "meta")


@dataclass
class Plan:
    """Which incremental models are refreshed by site-month, and which site-months changed."""

    fingerprint: str
    changed: list[dict] = field(default_factory=list)  # {"site", "month", "next"}; month None: every month
    incremental: set[str] = field(default_factory=set)  # fqns refreshed by site-month
    batches: list[tuple[str, str]] = field(default_factory=list)  # (batch_id, signature) as seen now


def ensure_state(conn: sa.Connection) -> None:
    conn.execute(sa.text(f"create table if not exists {MODEL_STATE} (model varchar primary key, fingerprint varchar)"))
    conn.execute(sa.text(f"create table if not exists {BATCH_STATE} (batch_id varchar primary key, signature varchar)"))


def fingerprint(conn: sa.Connection, models: list, rendered: dict[str, str], context: dict) -> str:
    """What a full rebuild depends on other than the loaded rows."""
    built = {m.fqn for m in models}
    rows = conn.execute(
        sa.text(
            "select c.table_schema, c.table_name, c.column_name, c.data_type from information_schema.columns c "
            "join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name "
            f"where c.table_schema in ({', '.join(repr(s) for s in _SOURCE_SCHEMAS)}) and t.table_type = 'BASE TABLE' "
            "order by 1, 2, 3"
        )
    ).fetchall()
    state = {MODEL_STATE, BATCH_STATE}
    columns = [r for r in rows if f"{r[0]}.{r[1]}" not in built | state]  # the tables loads write, not the models
    doc = {
        "version": VERSION,
        "templates": sorted((m.fqn, getattr(m, "template", m.name)) for m in models),
        "rendered": sorted(rendered.items()),
        "vars": {k: v for k, v in context.items() if k != "changed_months"},
        "columns": [list(map(str, c)) for c in columns],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _batches(conn: sa.Connection) -> dict[str, tuple[str, str | None, str]]:
    """batch_id -> (site, months, signature) of every recorded batch."""
    rows = conn.execute(
        sa.text("select batch_id, site_code, months, status, superseded_by, rows_loaded, rows_quarantined "
                "from meta.load_batch")  # fmt: skip
    ).fetchall()
    return {r[0]: (r[1], r[2], json.dumps([str(v) for v in r[1:]])) for r in rows}


def _site_months(site: str, months: str | None) -> list[dict]:
    if not months:
        return [{"site": site, "month": None, "next": None}]
    out = []
    for text in months.split(","):
        first = dt.date.fromisoformat(text.strip() + "-01")
        nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        out.append({"site": site, "month": first.isoformat(), "next": nxt.isoformat()})
    return out


def changed_site_months(conn: sa.Connection) -> tuple[list[dict], list[tuple[str, str]]]:
    """The site-months loads changed since the last build, and every batch's signature now."""
    now = _batches(conn)
    seen = dict(conn.execute(sa.text(f"select batch_id, signature from {BATCH_STATE}")).fetchall())
    changed: dict[tuple, dict] = {}
    for batch_id, (site, months, signature) in now.items():
        if seen.get(batch_id) != signature:
            changed.update({(c["site"], c["month"]): c for c in _site_months(site, months)})
    for batch_id in set(seen) - set(now):  # a batch record removed: its months as they were recorded
        site, months = json.loads(seen[batch_id])[:2]
        changed.update({(c["site"], c["month"]): c for c in _site_months(site, None if months == "None" else months)})
    whole = {site for site, month in changed if month is None}
    ordered = sorted((c for (site, month), c in changed.items() if month is None or site not in whole),
                     key=lambda c: (c["site"], c["month"] or ""))  # fmt: skip
    return ordered, sorted((b, sig) for b, (_, _, sig) in now.items())


def plan(conn: sa.Connection, models: list, rendered: dict[str, str], context: dict,
         full_refresh: bool) -> Plan:  # fmt: skip
    """Which incremental models can be refreshed by site-month in this build."""
    ensure_state(conn)
    result = Plan(fingerprint(conn, models, rendered, context))
    result.changed, result.batches = changed_site_months(conn)
    if full_refresh:
        return result
    built = dict(conn.execute(sa.text(f"select model, fingerprint from {MODEL_STATE}")).fetchall())
    for m in models:
        if getattr(m, "materialized", "") != "incremental":
            continue
        if built.get(m.fqn) == result.fingerprint and _exists(conn, *m.fqn.split(".")):
            result.incremental.add(m.fqn)
    return result


def _exists(conn: sa.Connection, schema: str, table: str) -> bool:
    return bool(conn.execute(
        sa.text("select count(*) from information_schema.tables where table_schema = :s and table_name = :t "
                "and table_type = 'BASE TABLE'"), {"s": schema, "t": table}).scalar())  # fmt: skip


def record(conn: sa.Connection, models: list, done: Plan) -> None:
    """After the build, in its transaction: what the incremental models were built from."""
    names = [m.fqn for m in models if getattr(m, "materialized", "") == "incremental"]
    conn.execute(sa.text(f"delete from {MODEL_STATE}"))
    if names:
        conn.execute(sa.text(f"insert into {MODEL_STATE} (model, fingerprint) values (:m, :f)"),
                     [{"m": n, "f": done.fingerprint} for n in names])  # fmt: skip
    conn.execute(sa.text(f"delete from {BATCH_STATE}"))
    if done.batches:
        conn.execute(sa.text(f"insert into {BATCH_STATE} (batch_id, signature) values (:b, :s)"),
                     [{"b": b, "s": s} for b, s in done.batches])  # fmt: skip
