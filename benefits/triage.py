"""Triage of the unplanned-change scan's signals: the states, the material-change rule, and the
register entry an accepted signal becomes.

A signal's id is stable across runs: a hash of its site, measure, side (the SPC point type: the
scan reports at most one change per site, measure and side) and first month. Each run reconciles
the scan with the triage rows kept from earlier runs (`reconcile`):

* a signal seen for the first time is `new`;
* a decided signal keeps its decision while it stays the same signal; its figures are refreshed;
* a `rejected` signal reopens as `new` when it changes materially: its size (signal mean minus
  baseline mean) has moved by more than `MATERIAL_SHIFT` of the size it had when rejected, or
  its first month has moved (the scan then finds it under a new id on the same site, measure and
  side while the rejected one is no longer found). The old decision is kept, in the history and
  in `previous_decision`;
* an accepted signal is tracked as a benefit from then on (`signal_benefit`), whose go-live makes
  the scan stop short of the signal's months, so it is no longer found; its row stays.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import pandas as pd

from benefits.register import Benefit, Period
from benefits.tables import SIGNAL_TRIAGE

STATES = ("new", "accepted_benefit", "accepted_disbenefit", "rejected")
REASONS = ("data_artefact", "known_cause", "seasonal", "other")
# A rejection is a judgement about a change of a given size; one half larger or smaller is a
# different change to judge (a seasonal swing that has grown, a "known cause" that has faded).
MATERIAL_SHIFT = 0.5
COLUMNS = list(SIGNAL_TRIAGE.columns)
# Figures refreshed from the scan on every run.
SCAN_FIELDS = (
    "direction", "last_month", "months", "baseline_start", "baseline_end", "baseline_mean", "signal_mean",
    "size_abs", "size_pct", "description",
)  # fmt: skip


class TriageError(ValueError):
    """A decision that cannot be recorded; the message says why in one line."""


def signal_id(site: str, measure: str, point_type: str, first_month) -> str:
    month = pd.Timestamp(first_month).strftime("%Y-%m")
    digest = hashlib.sha256(f"{site}|{measure}|{point_type}|{month}".encode()).hexdigest()
    return f"sig-{digest[:8]}"


def _num(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def material(decided_size: float, size: float) -> bool:
    """The signal's size has moved by more than MATERIAL_SHIFT of its size when decided."""
    a, b = _num(decided_size), _num(size)
    if math.isnan(a) or math.isnan(b):
        return False
    return abs(b - a) > MATERIAL_SHIFT * abs(a)


def decision_text(row: dict) -> str:
    what = row["state"] + (f" ({row['reason']})" if row.get("reason") else "")
    when = pd.Timestamp(row["decided_at"]).strftime("%Y-%m-%d") if row.get("decided_at") is not None else "?"
    note = f": {row['note']}" if row.get("note") else ""
    return f"{what} by {row.get('decided_by') or 'unknown'} on {when} at size {_num(row.get('decided_size_abs')):.4g}{note}"


def reconcile(
    triage: pd.DataFrame, scan: pd.DataFrame, sites: set[str], now: dt.datetime
) -> tuple[pd.DataFrame, list[dict]]:
    """The triage rows after a scan of `sites`, and the history events it adds.

    `triage`: rows kept from earlier runs (SIGNAL_TRIAGE columns); `scan`: fact_unplanned_change
    rows of this run. Rows of sites not scanned are returned unchanged."""
    kept = {r["signal_id"]: r for r in triage.to_dict("records")} if not triage.empty else {}
    events: list[dict] = []
    seen: set[str] = set()
    for s in scan.to_dict("records") if not scan.empty else []:
        sid = signal_id(s["site_code"], s["measure_code"], s["point_type"], s["first_month"])
        seen.add(sid)
        row = kept.get(sid)
        if row is None:
            row = _detected(s, sid, kept, seen, scan, now, events)
            kept[sid] = row
        elif row["state"] == "rejected" and material(row.get("decided_size_abs"), s["size_abs"]):
            _reopen(row, s, sid, now, events)
        for f in SCAN_FIELDS:
            row[f] = s.get(f)
        row["detected"] = True
        row["last_scanned_at"] = now
    for sid, row in kept.items():
        if sid not in seen and row["site_code"] in sites:
            row["detected"] = False
    frame = pd.DataFrame(list(kept.values()), columns=COLUMNS)
    return frame.sort_values(["site_code", "measure_code", "first_month"], kind="stable").reset_index(drop=True), events


def _detected(s: dict, sid: str, kept: dict, seen: set[str], scan: pd.DataFrame, now: dt.datetime, events: list[dict]) -> dict:
    """The row of a signal first detected; it reopens a rejected signal of the same site, measure
    and type whose start month has moved (no longer in the scan)."""
    row = {c: None for c in COLUMNS}
    row.update(signal_id=sid, site_code=s["site_code"], measure_code=s["measure_code"],
               point_type=s["point_type"], first_month=s["first_month"], first_detected_at=now, state="new")  # fmt: skip
    moved = [
        r for r in kept.values()
        if r["site_code"] == s["site_code"] and r["measure_code"] == s["measure_code"]
        and r["point_type"] == s["point_type"] and r["state"] == "rejected" and r["signal_id"] not in seen
        and not _present(scan, r)
    ]  # fmt: skip
    detail = "first detected"
    if moved:
        old = max(moved, key=lambda r: pd.Timestamp(r["decided_at"]))
        row["previous_decision"] = f"{old['signal_id']}: {decision_text(old)}"
        row["reopened_from"] = old["signal_id"]
        detail = (f"start month moved from {pd.Timestamp(old['first_month']):%Y-%m} to "
                  f"{pd.Timestamp(s['first_month']):%Y-%m}: reopened; was {decision_text(old)}")  # fmt: skip
    events.append(_event(row, now, "detected", detail))
    return row


def _reopen(row: dict, s: dict, sid: str, now: dt.datetime, events: list[dict]) -> None:
    """A rejected signal whose size has moved materially is new again."""
    detail = (f"size moved from {_num(row['decided_size_abs']):.4g} to {_num(s['size_abs']):.4g} "
              f"(more than {MATERIAL_SHIFT:.0%} of it): reopened; was {decision_text(row)}")  # fmt: skip
    row.update(previous_decision=decision_text(row), reopened_from=sid, state="new", reason=None, note=None,
               decided_by=None, decided_at=None, decided_size_abs=None)  # fmt: skip
    events.append(_event(row, now, "reopened", detail))


def _present(scan: pd.DataFrame, row: dict) -> bool:
    hit = (scan["site_code"] == row["site_code"]) & (scan["measure_code"] == row["measure_code"]) & (
        scan["point_type"] == row["point_type"]
    ) & (pd.to_datetime(scan["first_month"]) == pd.Timestamp(row["first_month"]))
    return bool(hit.any())


def _event(row: dict, now: dt.datetime, event: str, detail: str, by: str | None = None) -> dict:
    return {"signal_id": row["signal_id"], "site_code": row["site_code"], "event_at": now, "event": event,
            "state": row["state"], "reason": row.get("reason"), "note": row.get("note"), "decided_by": by,
            "detail": detail}  # fmt: skip


def decide(row: dict, state: str, note: str, by: str, now: dt.datetime, reason: str | None = None) -> tuple[dict, dict]:
    """Record a decision on one triage row; returns the row and its history event."""
    if state not in STATES[1:]:
        raise TriageError(f"unknown decision {state!r}; expected one of {', '.join(STATES[1:])}")
    if state == "rejected" and reason not in REASONS:
        raise TriageError(f"--reason: expected one of {', '.join(REASONS)}, got {reason!r}")
    if not note or not note.strip():
        raise TriageError("--note: say why, in a few words (it is kept with the decision)")
    if row["state"] == state:
        raise TriageError(f"{row['signal_id']} is already {state}")
    if state.startswith("accepted") and row["state"].startswith("accepted"):
        raise TriageError(f"{row['signal_id']} is already {row['state']}; reject it first to change its kind")
    if state.startswith("accepted"):
        _check_side(row, "benefit" if state == "accepted_benefit" else "disbenefit")
    before = row["state"]
    row = {**row, "state": state, "reason": reason if state == "rejected" else None, "note": note.strip(),
           "decided_by": by, "decided_at": now, "decided_size_abs": row.get("size_abs")}  # fmt: skip
    row["benefit_id"] = row["signal_id"] if state.startswith("accepted") else None
    return row, _event(row, now, state, f"{before} -> {state}", by)


def _check_side(row: dict, kind: str) -> None:
    # On a measure with a direction the scan already says which side is better; a trust that
    # disagrees should change the measure's direction, not file a benefit the engine would
    # evaluate as a harm.
    direction = row.get("direction")
    if kind == "benefit" and direction == "concern":
        raise TriageError(f"{row['signal_id']} is a change for the worse on {row['measure_code']}: accept it --as disbenefit")
    if kind == "disbenefit" and direction == "improvement":
        raise TriageError(f"{row['signal_id']} is a change for the better on {row['measure_code']}: accept it --as benefit")


def _next_month(d: dt.date) -> dt.date:
    return dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)


def signal_benefit(row: dict) -> Benefit:
    """The register entry an accepted signal becomes: the signal's measure, gone live at its first
    month (or the month after the scan's baseline, where the run began inside it), against the
    scan's baseline, kind unanticipated_benefit or disbenefit."""
    first = pd.Timestamp(row["first_month"]).date().replace(day=1)
    start = pd.Timestamp(row["baseline_start"]).date().replace(day=1)
    end = pd.Timestamp(row["baseline_end"]).date().replace(day=1)
    go_live = max(first, _next_month(end))
    benefit = row["state"] == "accepted_benefit"
    direction = None
    if row.get("direction") == "neutral":  # no better side: the decision says which one is
        high = str(row.get("point_type", "")).endswith("high")
        direction = "higher" if high == benefit else "lower"
    what = "Unanticipated benefit" if benefit else "Disbenefit"
    return Benefit(
        id=row["signal_id"], title=f"{what} on {row['measure_code']} from {first:%b %Y} ({row['note']})",
        measure=row["measure_code"], go_live=go_live, baseline=Period(start=start, end=end), direction=direction,
        owner=row.get("decided_by"), kind="unanticipated_benefit" if benefit else "disbenefit",
    )  # fmt: skip


def accepted(rows: pd.DataFrame) -> dict[str, list[Benefit]]:
    """site -> register entries of its accepted signals."""
    out: dict[str, list[Benefit]] = {}
    if rows.empty:
        return out
    for r in rows[rows["state"].isin(["accepted_benefit", "accepted_disbenefit"])].to_dict("records"):
        out.setdefault(r["site_code"], []).append(signal_benefit(r))
    return out
