"""Compare warehouses: a content checksum per table, independent of row order and engine."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import math

import pyarrow as pa
import sqlalchemy as sa

# The loaded data of a warehouse: what clone_loaded_data copies.
COPIED_SCHEMAS = ("meta", "staging", "quarantine")


def _canon(value) -> str:
    if value is None:
        return "∅"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, (float, decimal.Decimal)):
        f = float(value)
        if math.isnan(f):
            return "∅"
        return f"{f:.9g}"
    if isinstance(value, int):
        return f"{float(value):.9g}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def table_rows(engine: sa.Engine, table: str, exclude: tuple[str, ...] = ()) -> list[tuple]:
    with engine.connect() as c:
        result = c.execute(sa.text(f"select * from {table}"))
        cols = [k for k in result.keys()]
        keep = [i for i, k in enumerate(cols) if k not in exclude]
        return sorted(tuple(_canon(r[i]) for i in keep) for r in result.fetchall())


def table_checksum(engine: sa.Engine, table: str, exclude: tuple[str, ...] = ()) -> str:
    h = hashlib.sha256()
    for row in table_rows(engine, table, exclude):
        h.update("|".join(row).encode())
        h.update(b"\n")
    return h.hexdigest()


def _catalog(engine: sa.Engine) -> list[tuple[str, str]]:
    with engine.connect() as c:
        rows = c.execute(
            sa.text(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema not in ('information_schema', 'pg_catalog')"
            )
        ).fetchall()
    return [(s, t) for s, t in rows]


def schema_tables(engine: sa.Engine, schemas: list[str]) -> list[str]:
    return sorted(f"{s}.{t}" for s, t in _catalog(engine) if s in schemas)


def mart_schemas(engine: sa.Engine) -> list[str]:
    return sorted({s for s, _ in _catalog(engine) if s == "national" or s.startswith("local_")})


# When a batch was extracted or loaded is a fact about the run, not about the data: two
# warehouses built from the same extracts at different times differ only there.
RUN_TIME_COLUMNS = ("extracted_at", "loaded_at", "validated_at", "flow_run_id", "recorded_at", "published_at")


def mart_checksums(
    engine: sa.Engine, extra_schemas: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
) -> dict[str, str]:
    schemas = mart_schemas(engine) + list(extra_schemas)
    return {t: table_checksum(engine, t, exclude) for t in schema_tables(engine, schemas)}


def base_tables(wh, schema: str) -> list[str]:
    sql = "select table_name from information_schema.tables where table_schema = :s and table_type = 'BASE TABLE'"
    return sorted(wh.query(sql, {"s": schema})["table_name"])


def clone_loaded_data(src, dst, only: list[str] | None = None) -> None:
    """Copy every meta, staging and quarantine table's rows from `src` into the same tables of `dst`
    (with `only`, the rows of those sites: `_site` or `site_code` in it). `src` is a DuckDB warehouse."""
    with src.connect() as sconn, dst.begin() as dconn:
        raw = sconn.connection.driver_connection
        for schema in COPIED_SCHEMAS:
            have = set(base_tables(dst, schema))
            for table in base_tables(src, schema):
                if table not in have:
                    continue
                name = f"{schema}.{table}"
                wanted = set(dst.columns(schema, table))
                cols = [c for c in src.columns(schema, table) if c in wanted]
                where = ""
                site_col = next((c for c in ("_site", "site_code") if c in cols), None)
                if only and site_col:
                    where = f" where {site_col} in ({', '.join(repr(code) for code in only)})"
                arrow: pa.Table = raw.execute(f"select {', '.join(cols)} from {name}{where}").fetch_arrow_table()
                dconn.execute(sa.text(f"delete from {name}"))
                if arrow.num_rows == 0:
                    continue
                dst.insert_arrow(dconn, name, cols, arrow)
