"""Per-site views of all-sites tables: how every `local_<ods>` relation is made.

A table that holds every site's rows is built once (in `measures`, which no reader may use), and each
site's local mart gets `local_<ods>.<name>` as a view of its own rows. On PostgreSQL the views are
security barriers and run with their owner's rights, so a site's reader sees its rows only and needs no
grant on the table underneath (pipeline/warehouse/grants.py). One table and many views rather than a
table per site: the cost of a build then does not grow with the number of sites (a view is a catalog
entry, not a query run), and DuckDB does not checkpoint hundreds of small tables.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from pipeline.warehouse.core import Warehouse, ident, sql_literal


def existing_relations(conn: sa.Connection, schemas: Iterable[str], names: Iterable[str]) -> dict[tuple[str, str], str]:
    """(schema, name) -> 'VIEW' or 'BASE TABLE' for what is already there, in one query."""
    schemas, names = sorted(set(schemas)), sorted(set(names))
    if not schemas or not names:
        return {}
    rows = conn.execute(
        sa.text(
            "select table_schema, table_name, table_type from information_schema.tables "
            f"where table_schema in ({', '.join(sql_literal(s) for s in schemas)}) "
            f"and table_name in ({', '.join(sql_literal(n) for n in names)})"
        )
    ).fetchall()
    return {(r[0], r[1]): str(r[2]).upper() for r in rows}


def site_views(conn: sa.Connection, wh: Warehouse, schemas: dict[str, str], base: str, name: str,
               columns: list[str], existing: dict[tuple[str, str], str] | None = None) -> None:
    """`<schema>.<name>` for each site (ODS code -> schema): a view of the site's rows of `base`.

    `existing` (from existing_relations) saves a catalog query per table; a table of that name left by
    a build that wrote one table per site is dropped first (neither engine replaces a table with a view).
    """
    if existing is None:
        existing = existing_relations(conn, schemas.values(), [name])
    cols = ", ".join(ident(c) for c in columns)
    for code, schema in schemas.items():
        view = ident(f"{schema}.{name}")
        if existing.get((schema, name), "VIEW") != "VIEW":
            conn.execute(sa.text(f"drop table if exists {view}"))
        wh.create_site_view(conn, view, f"select {cols} from {base} where site_code = {sql_literal(code)}")
