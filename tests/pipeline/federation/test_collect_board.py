"""The completeness board: submitted, late, missing and rejected for a small constructed case."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.federation.collect import collect
from pipeline.federation.completeness import deadline, last_due_month
from pipeline.federation.keys import load_registry
from pipeline.warehouse.core import Warehouse
from tests.pipeline.federation.collect_support import frames, site_keys, write_package

TODAY = dt.date(2025, 9, 20)  # June, July and August are due (August's deadline was 15 September)


def test_deadlines():
    assert deadline(dt.date(2025, 1, 1), 31) == dt.date(2025, 2, 28)
    assert last_due_month(dt.date(2025, 9, 15), 15) == dt.date(2025, 7, 1)  # on the deadline day: still on time
    assert last_due_month(dt.date(2025, 9, 16), 15) == dt.date(2025, 8, 1)
    assert last_due_month(dt.date(2025, 1, 3), 2) == dt.date(2024, 12, 1)


@pytest.fixture(params=["duckdb", "postgresql"])
def wh(request, tmp_path):
    url = f"duckdb:///{tmp_path / 'collector.duckdb'}" if request.param == "duckdb" else request.getfixturevalue("pg_url")
    w = Warehouse(url)
    yield w
    w.dispose()


def test_board_states_who_submitted_late_missing_or_rejected(tmp_path, wh):
    private, path = site_keys(tmp_path / "home", ["RAA", "RBB", "RCC", "RDD"])
    registry = load_registry(path)
    inbox = tmp_path / "exchange" / "inbox"
    # RAA: June on time; July and August in one package created 1 September (July late, August on time)
    write_package(inbox, private["RAA"], "RAA", "2025-06", "2025-06", dt.datetime(2025, 7, 10, 9))
    write_package(inbox, private["RAA"], "RAA", "2025-07", "2025-08", dt.datetime(2025, 9, 1, 9))
    # RBB: August only, and without its medication data
    data = frames("RBB", "2025-08", "2025-08")
    for kind in ("dq_rows", "dq_rules"):
        data[kind] = data[kind][data[kind]["dataset"] == "ae_monthly"].reset_index(drop=True)
    write_package(inbox, private["RBB"], "RBB", "2025-08", "2025-08", dt.datetime(2025, 9, 10, 9), data=data)
    # RCC: June to August, rejected for an unsuppressed small count
    bad = frames("RCC", "2025-06", "2025-08")
    bad["measures"].loc[0, "numerator"] = 2.0
    rejected = write_package(inbox, private["RCC"], "RCC", "2025-06", "2025-08", dt.datetime(2025, 9, 5, 9), data=bad)
    # RAA again: a correction of June that is rejected; June's accepted data stands
    bad_fix = frames("RAA", "2025-06", "2025-06")
    bad_fix["benefit_spc"].loc[0, "numerator"] = 1.0
    correction = write_package(inbox, private["RAA"], "RAA", "2025-06", "2025-06", dt.datetime(2025, 9, 18, 9),
                               data=bad_fix)
    # RDD: nothing
    result = collect(str(tmp_path / "exchange"), wh, registry, threshold=7, today=TODAY, deadline_day=15)
    assert [p.status for p in result.packages] == ["accepted", "accepted", "rejected", "accepted", "rejected"]

    board = wh.query("select * from national.submission_completeness")
    assert result.board_rows == len(board) == 4 * 2 * 3
    status = {(r.site_code, r.dataset, r.month.strftime("%Y-%m")): r.status for r in board.itertuples()}
    for dataset in ("ae_monthly", "medication_administrations"):
        assert status["RAA", dataset, "2025-06"] == "submitted"
        assert status["RAA", dataset, "2025-07"] == "late"
        assert status["RAA", dataset, "2025-08"] == "submitted"
        assert status["RBB", dataset, "2025-06"] == status["RBB", dataset, "2025-07"] == "missing"
        assert [status["RCC", dataset, m] for m in ("2025-06", "2025-07", "2025-08")] == ["rejected"] * 3
        assert [status["RDD", dataset, m] for m in ("2025-06", "2025-07", "2025-08")] == ["missing"] * 3
    assert status["RBB", "ae_monthly", "2025-08"] == "submitted"
    assert status["RBB", "medication_administrations", "2025-08"] == "missing"

    row = board[(board["site_code"] == "RCC") & (board["month"] == dt.date(2025, 7, 1))].iloc[0]
    assert row["package"] == rejected.name and row["receipt_status"] == "rejected"
    assert "numerator 2 is from 1 to the threshold 7" in row["receipt_reasons"]
    june = board[(board["site_code"] == "RAA") & (board["month"] == dt.date(2025, 6, 1))].iloc[0]
    assert june["status"] == "submitted" and june["receipt_package"] == correction.name
    assert june["receipt_status"] == "rejected" and june["package"] != correction.name
    assert board[board["site_code"] == "RDD"]["package"].isna().all()
