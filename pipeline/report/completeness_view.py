"""The national page's completeness board: who has sent what, from national.submission_completeness.

Only a federated collector has the table; a central warehouse's page has no such section.
"""

from __future__ import annotations

import pandas as pd

from pipeline.report.format import month_label

WORDS = {"submitted": "on time", "late": "late", "missing": "missing", "rejected": "rejected"}
MONTHS_SHOWN = 12


def completeness_view(board: pd.DataFrame, site_names: dict[str, str], months: int = MONTHS_SHOWN) -> dict | None:
    """Per site and dataset, the status of each of the latest `months` due months, and per site its
    counts over them and its latest receipt, so a programme office sees at a glance who is missing."""
    if board is None or board.empty:
        return None
    board = board.copy()
    board["month"] = pd.to_datetime(board["month"]).dt.date
    shown = sorted(board["month"].unique())[-months:]
    recent = board[board["month"].isin(shown)]
    rows, sites = [], []
    for site, g in recent.groupby("site_code", sort=True):
        counts = g["status"].value_counts()
        # The site's latest receipt, whichever month it covers (the newest months may have none yet).
        receipts = board[(board["site_code"] == site) & board["receipt_package"].notna()]
        latest = receipts.sort_values(["month", "receipt_package"]).iloc[-1] if not receipts.empty else None
        sites.append({
            "code": site,
            "name": site_names.get(site, site),
            "counts": {s: int(counts.get(s, 0)) for s in WORDS},
            "receipt": None if latest is None else latest["receipt_package"],
            "receipt_status": None if latest is None else latest["receipt_status"],
            "receipt_reasons": None if latest is None or pd.isna(latest["receipt_reasons"]) else latest["receipt_reasons"],
        })  # fmt: skip
        for dataset, d in g.groupby("dataset", sort=True):
            by_month = dict(zip(d["month"], d["status"]))
            rows.append({
                "site": site,
                "dataset": dataset.replace("_", " "),
                "cells": [{"status": by_month.get(m, "missing"), "text": WORDS[by_month.get(m, "missing")],
                           "month": month_label(m)} for m in shown],
            })  # fmt: skip
    totals = recent["status"].value_counts()
    return {
        "months": [month_label(m) for m in shown],
        "rows": rows,
        "sites": sites,
        "totals": {s: int(totals.get(s, 0)) for s in WORDS},
        "words": WORDS,
    }
