"""Unplanned-change signals are a site's latest scan of its whole series: a package's signals
starting by its last month replace the site's earlier ones (kept in history), and signals that
start after it stay."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.federation.collect import build_national_marts, collect
from pipeline.federation.keys import load_registry
from pipeline.warehouse.core import Warehouse
from tests.pipeline.federation.collect_support import frames, site_keys, write_package

TODAY = dt.date(2026, 12, 4)


@pytest.fixture
def env(tmp_path):
    private, path = site_keys(tmp_path / "home", ["RAA"])
    wh = Warehouse(f"duckdb:///{tmp_path / 'collector.duckdb'}")
    yield private["RAA"], load_registry(path), wh, tmp_path / "exchange"
    wh.dispose()


def _signals(wh: Warehouse) -> list[tuple]:
    frame = wh.query("select measure_code, first_month, last_month from national.fact_unplanned_change "
                     "where site_code = 'RAA' order by first_month")  # fmt: skip
    return [(r.measure_code, str(r.first_month)[:7], str(r.last_month)[:7]) for r in frame.itertuples()]


def test_a_later_scan_replaces_the_signals_starting_by_its_last_month(env):
    key, registry, wh, root = env
    write_package(root / "inbox", key, "RAA", "2025-04", "2025-06", dt.datetime(2025, 7, 10))
    collect(str(root), wh, registry, threshold=7, today=TODAY)
    build_national_marts(wh, 7)
    assert _signals(wh) == [("delayed_critical_doses_rate", "2025-04", "2025-06")]

    # The next month's scan: the same signal runs on a month longer, and another has begun.
    data = frames("RAA", "2025-07", "2025-07")
    signal = data["unplanned"].iloc[[0, 0]].reset_index(drop=True)
    signal.loc[0, ["first_month", "last_month", "months"]] = [dt.date(2025, 4, 1), dt.date(2025, 7, 1), 4]
    signal.loc[1, ["measure_code", "first_month", "last_month", "months"]] = [
        "ae_4h_performance", dt.date(2025, 5, 1), dt.date(2025, 7, 1), 3]
    data["unplanned"] = signal
    july = write_package(root / "inbox", key, "RAA", "2025-07", "2025-07", dt.datetime(2025, 8, 10), data=data)
    result = collect(str(root), wh, registry, threshold=7, today=TODAY)
    assert [p.status for p in result.packages] == ["accepted"], result.packages[0].reasons
    build_national_marts(wh, 7)
    assert _signals(wh) == [("delayed_critical_doses_rate", "2025-04", "2025-07"), ("ae_4h_performance", "2025-05", "2025-07")]
    assert wh.scalar("select count(*) from collected.unplanned_history where replaced_by = :p", {"p": july.name}) == 1

    # A correction of earlier months replaces the signals starting by its last month only.
    data = frames("RAA", "2025-04", "2025-04")
    data["unplanned"] = data["unplanned"].iloc[0:0]
    write_package(root / "inbox", key, "RAA", "2025-04", "2025-04", dt.datetime(2025, 9, 10), data=data)
    collect(str(root), wh, registry, threshold=7, today=TODAY)
    build_national_marts(wh, 7)
    assert _signals(wh) == [("ae_4h_performance", "2025-05", "2025-07")]
