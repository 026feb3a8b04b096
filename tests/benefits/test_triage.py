"""Triage of unplanned-change signals: decisions survive rescans, a rejected signal reopens only
when it changes materially, and an accepted one becomes a register entry."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from benefits.triage import COLUMNS, TriageError, decide, reconcile, signal_benefit, signal_id

T0, T1, T2 = (dt.datetime(2026, 1, d) for d in (1, 2, 3))


def scan_row(first=dt.date(2018, 3, 1), size=-0.02, point_type="special_cause_improvement", direction="improvement"):
    return {
        "site_code": "RF4", "measure_code": "omitted_critical_doses_rate", "first_month": first,
        "last_month": dt.date(2019, 1, 1), "months": 11, "rule": "run", "direction": direction,
        "point_type": point_type, "baseline_start": dt.date(2016, 4, 1), "baseline_end": dt.date(2017, 3, 1),
        "baseline_mean": 0.1, "signal_mean": 0.1 + size, "size_abs": size, "size_pct": 1000 * size,
        "ongoing": False, "scanned_to": dt.date(2019, 6, 1), "covered_from": None, "description": "a signal",
    }  # fmt: skip


def scan(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def rejected_once():
    rows, events = reconcile(pd.DataFrame(columns=COLUMNS), scan(scan_row()), {"RF4"}, T0)
    assert rows["state"].tolist() == ["new"] and [e["event"] for e in events] == ["detected"]
    row, event = decide(rows.iloc[0].to_dict(), "rejected", "winter dip", "QI lead", T0, "seasonal")
    assert event["event"] == "rejected" and row["decided_size_abs"] == -0.02
    return pd.DataFrame([row], columns=COLUMNS)


def test_the_id_is_stable_and_names_what_the_signal_is():
    a = signal_id("RF4", "m", "special_cause_improvement", dt.date(2018, 3, 1))
    assert a == signal_id("RF4", "m", "special_cause_improvement", "2018-03-01") and a.startswith("sig-")
    assert a != signal_id("RF4", "m", "special_cause_improvement", dt.date(2018, 4, 1))
    assert a != signal_id("RF4", "m", "special_cause_concern", dt.date(2018, 3, 1))


def test_a_rejected_signal_stays_rejected_while_it_changes_little():
    kept = rejected_once()
    # Rescanned with a size 40% larger (under the 50% threshold): still rejected, figures refreshed.
    rows, events = reconcile(kept, scan(scan_row(size=-0.028)), {"RF4"}, T1)
    assert rows["state"].tolist() == ["rejected"] and rows["reason"].tolist() == ["seasonal"] and events == []
    assert rows["size_abs"].tolist() == [-0.028] and rows["detected"].tolist() == [True]
    # Not found at all on a later scan: the decision stays, marked as not detected.
    rows, _ = reconcile(rows, scan(), {"RF4"}, T2)
    assert rows["state"].tolist() == ["rejected"] and rows["detected"].tolist() == [False]


def test_a_rejected_signal_reopens_when_its_size_moves_by_more_than_half():
    rows, events = reconcile(rejected_once(), scan(scan_row(size=-0.031)), {"RF4"}, T1)
    assert rows["state"].tolist() == ["new"] and rows["reason"].isna().all()
    assert "rejected (seasonal) by QI lead on 2026-01-01" in rows["previous_decision"].iloc[0]
    assert [e["event"] for e in events] == ["reopened"] and "-0.02 to -0.031" in events[0]["detail"]


def test_a_rejected_signal_reopens_when_its_start_month_moves():
    kept = rejected_once()
    rows, events = reconcile(kept, scan(scan_row(first=dt.date(2018, 1, 1))), {"RF4"}, T1)
    old, new = rows.iloc[1], rows.iloc[0]  # ordered by first month
    assert old["state"] == "rejected" and not old["detected"]
    assert new["state"] == "new" and new["reopened_from"] == old["signal_id"]
    assert "start month moved from 2018-03 to 2018-01" in events[0]["detail"]


def test_rows_of_sites_not_scanned_are_left_alone():
    rows, _ = reconcile(rejected_once(), scan(), {"RX1"}, T1)
    assert rows["detected"].tolist() == [True] and rows["state"].tolist() == ["rejected"]


def test_decisions_are_checked():
    row = reconcile(pd.DataFrame(columns=COLUMNS), scan(scan_row()), {"RF4"}, T0)[0].iloc[0].to_dict()
    with pytest.raises(TriageError, match="change for the better .* accept it --as benefit"):
        decide(row, "accepted_disbenefit", "it hurt", "me", T1)
    with pytest.raises(TriageError, match="--reason: expected one of data_artefact, known_cause, seasonal, other"):
        decide(row, "rejected", "no", "me", T1, "boring")
    with pytest.raises(TriageError, match="--note"):
        decide(row, "accepted_benefit", "  ", "me", T1)


def test_an_accepted_signal_is_a_register_entry():
    row = reconcile(pd.DataFrame(columns=COLUMNS), scan(scan_row()), {"RF4"}, T0)[0].iloc[0].to_dict()
    row, _ = decide(row, "accepted_benefit", "new pharmacy rota", "Chief pharmacist", T1)
    b = signal_benefit(row)
    assert b.id == row["signal_id"] == row["benefit_id"] and b.kind == "unanticipated_benefit"
    assert b.go_live == dt.date(2018, 3, 1) and b.baseline.end == dt.date(2017, 3, 1) and b.direction is None
    assert b.owner == "Chief pharmacist" and "new pharmacy rota" in b.title
    # A neutral measure: the decision says which side is better. A run that began inside the
    # scan's baseline goes live after it, so the baseline still ends before go-live.
    neutral = scan_row(first=dt.date(2017, 1, 1), point_type="special_cause_neutral_high", direction="neutral")
    row = reconcile(pd.DataFrame(columns=COLUMNS), scan(neutral), {"RF4"}, T0)[0].iloc[0].to_dict()
    b = signal_benefit(decide(row, "accepted_disbenefit", "more bed days", "me", T1)[0])
    assert b.kind == "disbenefit" and b.direction.value == "lower" and b.go_live == dt.date(2017, 4, 1)
