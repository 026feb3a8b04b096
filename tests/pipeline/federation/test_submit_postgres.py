"""A trust on its own PostgreSQL warehouse sends the same package as one on embedded DuckDB."""

from __future__ import annotations

import pytest

from pipeline.federation.submit import build_tables
from tests.pipeline.federation.conftest import OTHER, SITE
from tests.support.federation import UNPLANNED_EFFECTS, site_warehouse


def _rows(table) -> list[tuple]:
    def canon(v):
        return round(v, 9) if isinstance(v, float) else v

    return sorted((tuple(canon(v) for v in row.values()) for row in table.to_pylist()), key=repr)


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_and_duckdb_warehouses_give_the_same_package_tables(built, pg_url, tmp_path):
    pg = site_warehouse(tmp_path, [SITE, OTHER], url=pg_url, extra_effects=UNPLANNED_EFFECTS)
    try:
        on_pg = build_tables(pg.wh, SITE)
    finally:
        pg.wh.dispose()
    on_duck = build_tables(built.wh, SITE)
    for kind, table in on_duck.items():
        assert on_pg[kind].schema.equals(table.schema), kind
        assert on_pg[kind].num_rows == table.num_rows > 0, kind
        # Run times differ between the two runs, never the figures.
        skip = {"computed_at", "validated_at", "loaded_at"} & set(table.column_names)
        assert _rows(on_pg[kind].drop_columns(list(skip))) == _rows(table.drop_columns(list(skip))), kind
