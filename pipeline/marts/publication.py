"""Published figures that never silently change: register versions, `publish`, restatements.

* Every run records each site's benefit register version (a content hash of its benefits and its
  `projects:`, whose shared investment feeds the return on investment) in
  `meta.register_version`, with what changed since the previous one in words, and stamps every
  `fact_benefit` row with the version it was computed with.
* `publish(month)` copies that month's `fact_benefit` rows into `published_benefit` (national:
  the suppressed national rows; local: every row of the site). A row once published is never
  rewritten; publishing a month again adds only benefits not yet published for it.
* Every run then compares the published rows with what it now says for the same months and
  rebuilds `benefit_restatement`: the field, the published and the current value, and the cause
  (`register` when the benefit's register entry changed since, else `data`). A project's entry
  feeds no published figure (return on investment is recomputed every run, never published), so
  a project edit is a new register version but never the cause of a restatement.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math

import pandas as pd
import sqlalchemy as sa

from benefits.tables import BENEFIT_RESTATEMENT, FACT_BENEFIT, PUBLISHED_BENEFIT
from pipeline.config.sites import SiteConfig
from pipeline.marts.kept import ensure_kept
from pipeline.warehouse.site_views import site_views
from pipeline.warehouse.core import Warehouse, ident, sql_literal

# The figures a board paper quotes; a difference in any of them is a restatement.
RESTATED_FIELDS = (
    "status", "latest_value", "baseline_mean", "target_value", "target_met", "effect_latest", "effect_latest_low",
    "effect_latest_high", "cumulative_benefit", "value_gbp", "value_evidenced_gbp", "disbenefit_cost_gbp",
)  # fmt: skip
ALL_SITES = "measures.published_benefit_all"
NATIONAL = "national.published_benefit"


# Projects share the benefits' snapshot under keys no benefit id can take (ids allow no colon), so
# a register without projects hashes as it did before projects were covered, and snapshots
# recorded before keep their meaning.
PROJECT_KEY = "project:"


def _entries(site: SiteConfig) -> dict[str, dict]:
    entries = {b.id: b.model_dump(mode="json", exclude_none=True) for b in site.benefit_list}
    for p in site.projects:
        entries[PROJECT_KEY + p.name] = p.model_dump(mode="json", exclude_none=True)
    return entries


def _label(key: str) -> str:
    return f"project {key[len(PROJECT_KEY):]!r}" if key.startswith(PROJECT_KEY) else key


def register_hash(site: SiteConfig) -> str:
    text = json.dumps(_entries(site), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _flat(d: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def describe_changes(old: dict[str, dict], new: dict[str, dict]) -> str:
    """A register edit in words: benefits and projects added or removed, and field: old -> new."""
    parts = [f"{_label(b)}: added" for b in sorted(set(new) - set(old))]
    parts += [f"{_label(b)}: removed" for b in sorted(set(old) - set(new))]
    for b in sorted(set(old) & set(new)):
        fo, fn = _flat(old[b]), _flat(new[b])
        for f in sorted(set(fo) | set(fn)):
            if fo.get(f) != fn.get(f):
                parts.append(f"{_label(b)}: {f} {fo.get(f, 'unset')!r} -> {fn.get(f, 'unset')!r}")
    return "; ".join(parts) or "no change"


def record_register_versions(wh: Warehouse, sites: list[SiteConfig]) -> dict[str, str]:
    """Record each site's register version when it is new; return site -> version."""
    versions: dict[str, str] = {}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with wh.begin() as conn:
        for site in sites:
            version = register_hash(site)
            versions[site.ods_code] = version
            last = conn.execute(
                sa.text("select version, changes from meta.register_version where site_code = :s "
                        "order by recorded_at desc limit 1"),
                {"s": site.ods_code},
            ).fetchone()  # fmt: skip
            if last is not None and last[0] == version:
                continue
            entries = _entries(site)
            previous = _snapshot(conn, site.ods_code)
            changes = "first version" if last is None else describe_changes(previous, entries)
            conn.execute(
                sa.text("insert into meta.register_version (site_code, version, recorded_at, benefits, changes) "
                        "values (:s, :v, :t, :n, :c)"),
                {"s": site.ods_code, "v": version, "t": now, "n": len(site.benefit_list), "c": changes},
            )  # fmt: skip
            conn.execute(
                sa.text("insert into meta.register_entries (site_code, version, entries) values (:s, :v, :e)"),
                {"s": site.ods_code, "v": version, "e": json.dumps(entries, sort_keys=True)},
            )
    return versions


def _snapshot(conn, site_code: str) -> dict[str, dict]:
    try:
        row = conn.execute(
            sa.text("select e.entries from meta.register_entries e join meta.register_version v "
                    "on v.site_code = e.site_code and v.version = e.version where e.site_code = :s "
                    "order by v.recorded_at desc limit 1"),
            {"s": site_code},
        ).fetchone()  # fmt: skip
    except sa.exc.DBAPIError:
        return {}
    return json.loads(row[0]) if row else {}


def _ensure(conn, wh: Warehouse, table: str) -> None:
    ensure_kept(conn, wh, table, PUBLISHED_BENEFIT)


def _copy(conn, source: str, target: str, month: dt.date, site: str | None, now: dt.datetime) -> int:
    cols = ", ".join(ident(c) for c in FACT_BENEFIT.columns)
    where = f"f.as_of_month = {sql_literal(month.isoformat())}"
    if site:
        where += f" and f.site_code = {sql_literal(site)}"
    not_yet = (
        f"not exists (select 1 from {target} p where p.site_code = f.site_code and p.benefit_id = f.benefit_id "
        f"and p.as_of_month = f.as_of_month)"
    )
    select = f"select {', '.join('f.' + ident(c) for c in FACT_BENEFIT.columns)}, :on from {source} f where {where} and {not_yet}"
    before = conn.execute(sa.text(f"select count(*) from {target}")).scalar()
    conn.execute(sa.text(f"insert into {target} ({cols}, published_month) {select}"), {"on": now.date().replace(day=1)})
    # DuckDB reports no row count for insert ... select
    return int(conn.execute(sa.text(f"select count(*) from {target}")).scalar() - before)


def publish(wh: Warehouse, month: dt.date, schemas: dict[str, str], site: str | None = None) -> dict[str, int]:
    """Freeze `month`'s benefit rows (all sites, or one). Returns rows newly published per scope."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with wh.begin() as conn:
        for table in (ALL_SITES, NATIONAL):
            _ensure(conn, wh, table)
        local = _copy(conn, "measures.fact_benefit_all", ALL_SITES, month, site, now)
        national = _copy(conn, "national.fact_benefit", NATIONAL, month, site, now)
        conn.execute(
            sa.text("insert into meta.publication (as_of_month, site_code, published_at, local_rows, national_rows) "
                    "values (:m, :s, :t, :l, :n)"),
            {"m": month, "s": site, "t": now, "l": local, "n": national},
        )  # fmt: skip
        _site_views(conn, wh, schemas, ALL_SITES, PUBLISHED_BENEFIT.name, list(PUBLISHED_BENEFIT.columns))
    return {"local": local, "national": national}


def _site_views(conn, wh: Warehouse, schemas: dict[str, str], base: str, name: str, columns: list[str]) -> None:
    site_views(conn, wh, schemas, base, name, columns)


def _text(v) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float):
        return f"{v:.10g}"
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return str(v)


def restatements(published: pd.DataFrame, current: pd.DataFrame, entries_changed: set[tuple[str, str]]) -> pd.DataFrame:
    """Rows of benefit_restatement: each published figure the current rows state differently.

    `entries_changed`: (site, benefit) whose register entry differs between the published and the
    current version."""
    cols = list(BENEFIT_RESTATEMENT.columns)
    if published.empty or current.empty:
        return pd.DataFrame(columns=cols)
    key = ["site_code", "benefit_id", "as_of_month"]
    for f in (published, current):
        f["as_of_month"] = pd.to_datetime(f["as_of_month"]).dt.date
    merged = published.merge(current, on=key, how="inner", suffixes=("_p", "_c"))
    out = []
    for r in merged.to_dict("records"):
        for field in RESTATED_FIELDS:
            old, new = _text(r.get(f"{field}_p")), _text(r.get(f"{field}_c"))
            if old == new:
                continue
            register = (r["site_code"], r["benefit_id"]) in entries_changed and r.get("register_version_p") != r.get(
                "register_version_c"
            )
            out.append({
                "site_code": r["site_code"], "benefit_id": r["benefit_id"], "as_of_month": r["as_of_month"],
                "scope": r.get("scope_p", r.get("scope")), "field": field, "published_value": old, "current_value": new,
                "cause": "register" if register else "data",
                "published_register_version": r.get("register_version_p"),
                "current_register_version": r.get("register_version_c"), "published_month": r.get("published_month"),
            })  # fmt: skip
    return pd.DataFrame(out, columns=cols)


def changed_entries(wh: Warehouse, published: pd.DataFrame, current_sites: list[SiteConfig]) -> set[tuple[str, str]]:
    """(site, benefit) whose register entry now differs from the one its published rows used."""
    if published.empty or not wh.table_exists("meta", "register_entries"):
        return set()
    snaps = wh.query("select site_code, version, entries from meta.register_entries")
    by_version = {(r.site_code, r.version): json.loads(r.entries) for r in snaps.itertuples()}
    now = {s.ods_code: _entries(s) for s in current_sites}
    out = set()
    for (site, bid, version) in published[["site_code", "benefit_id", "register_version"]].drop_duplicates().itertuples(index=False):
        then = by_version.get((site, version), {}).get(bid)
        if then != now.get(site, {}).get(bid):
            out.add((site, bid))
    return out


def refresh_restatements(wh: Warehouse, sites: list[SiteConfig], schemas: dict[str, str]) -> int:
    """Rebuild benefit_restatement (all sites, local views, national rows) after a run; the
    published tables exist (empty until a month is published) so analysts can always query them."""
    with wh.begin() as conn:
        for table in (ALL_SITES, NATIONAL):
            _ensure(conn, wh, table)
        _site_views(conn, wh, schemas, ALL_SITES, PUBLISHED_BENEFIT.name, list(PUBLISHED_BENEFIT.columns))
    def compared(published_table: str, current_table: str) -> pd.DataFrame:
        published = wh.query(f"select * from {published_table}")
        current = wh.query(
            "select site_code, benefit_id, as_of_month, register_version, "
            + ", ".join(RESTATED_FIELDS) + f" from {current_table}"
        )  # fmt: skip
        return restatements(published, current, changed_entries(wh, published, sites))

    frame = compared(ALL_SITES, "measures.fact_benefit_all")
    # The national rows compare the national copies (realise has just written national.fact_benefit):
    # the local rows hold the figures the national mart withholds (small counts, and every mean and
    # total over a month holding one).
    national = compared(NATIONAL, "national.fact_benefit")
    with wh.begin() as conn:
        if not wh.is_duckdb:  # PostgreSQL will not drop a table its site views depend on
            conn.execute(sa.text("drop table if exists measures.benefit_restatement_all cascade"))
        wh.replace_table(conn, "measures.benefit_restatement_all", frame, BENEFIT_RESTATEMENT.types)
        _site_views(conn, wh, schemas, "measures.benefit_restatement_all", BENEFIT_RESTATEMENT.name,
                    list(BENEFIT_RESTATEMENT.columns))  # fmt: skip
        national = national[national["field"] != "latest_value"]
        wh.replace_table(conn, "national.benefit_restatement", national, BENEFIT_RESTATEMENT.types)
    return len(frame)
