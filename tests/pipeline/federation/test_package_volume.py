"""The seeded small version of bench/bench_federation.py's volume check: what a trust sends, and so what
the collector does, does not grow with the trust's record volume (timing is the benchmark's job)."""

from __future__ import annotations

import pytest

from pipeline.federation.submit import build_tables
from tests.support.federation import site_warehouse


@pytest.mark.slow
def test_ten_times_the_records_send_the_same_package(tmp_path):
    sizes = {}
    for factor in (1, 10):
        built = site_warehouse(tmp_path / f"x{factor}", ["RF4"], scale_factor=factor)
        try:
            records = int(built.wh.query("select sum(rows_in) as n from meta.load_batch")["n"][0])
            tables = build_tables(built.wh, "RF4")
            sizes[factor] = (records, {kind: t.num_rows for kind, t in tables.items()},
                             sum(t.nbytes for t in tables.values()))  # fmt: skip
        finally:
            built.wh.dispose()
    (small, small_rows, small_bytes), (large, large_rows, large_bytes) = sizes[1], sizes[10]
    assert large > 8 * small
    # The same lattice, benefits and charts; data-quality rows only gain the months whose incident
    # file was empty at the smaller size.
    for kind in ("measures", "benefits", "benefit_spc"):
        assert large_rows[kind] == small_rows[kind], (kind, small_rows, large_rows)
    assert 1 <= sum(large_rows.values()) / sum(small_rows.values()) < 1.1
    assert 0.8 < large_bytes / small_bytes < 1.25
