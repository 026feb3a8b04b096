"""Same marts on DuckDB and PostgreSQL from the same loaded data: every mart table compared."""

from __future__ import annotations

import pytest

from tests.support.warehouse import mart_checksums, table_rows


@pytest.mark.postgres
def test_every_mart_table_is_identical_on_both_engines(duck, pg):
    duck_sums = mart_checksums(duck.wh.engine)
    pg_sums = mart_checksums(pg.wh.engine)
    assert set(duck_sums) == set(pg_sums)
    assert len(duck_sums) >= 11 + 3 * 12  # national tables and views; 12 tables in each local mart
    differ = [t for t in duck_sums if duck_sums[t] != pg_sums[t]]
    for table in differ[:3]:  # show the first differing rows
        d, p = table_rows(duck.wh.engine, table), table_rows(pg.wh.engine, table)
        only_d = sorted(set(d) - set(p))[:3]
        only_p = sorted(set(p) - set(d))[:3]
        print(table, "duckdb only:", only_d, "postgresql only:", only_p)
    assert differ == []
