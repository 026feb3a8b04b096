"""The completeness board: per site, dataset and month, whether the programme office has the data.

`national.submission_completeness` states, for every registered site x dataset x month from the
earliest submitted month up to the last month whose deadline has passed:

* `submitted`: the site's collected data-quality rows include the dataset and month, first
  delivered by a package created on or before the deadline (day `deadline_day` of the next month);
* `late`: collected, but first delivered by a package created after the deadline;
* `rejected`: no accepted package covers the month, but a rejected one does (its reasons are shown);
* `missing`: nothing covers it, or the accepted package covering the month has no rows for the dataset.

A dataset is known from what sites have submitted (their dq_rows), or from the dataset
contracts before anything has been. Each row carries the last receipt for the site's month, so
a correction that was rejected is visible even though the earlier data stands.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools

import pandas as pd

from dataset_contracts.contracts import CONTRACTS
from benefits.evaluate import add_months
from pipeline.warehouse.core import Warehouse

TABLE = "national.submission_completeness"
COLUMNS = {
    "site_code": "varchar",
    "dataset": "varchar",
    "month": "date",
    "status": "varchar",  # submitted | late | missing | rejected
    "deadline": "date",
    "package": "varchar",  # the package whose rows are collected (or that was rejected, or lacked the dataset)
    "received_at": "timestamp",
    "receipt_package": "varchar",  # the latest package covering the site's month, whatever its status
    "receipt_status": "varchar",
    "receipt_reasons": "varchar",
}


def deadline(month: dt.date, deadline_day: int) -> dt.date:
    """Day `deadline_day` of the month after `month` (the month's last day if it is shorter)."""
    nxt = add_months(month, 1)
    return nxt.replace(day=min(deadline_day, calendar.monthrange(nxt.year, nxt.month)[1]))


def last_due_month(today: dt.date, deadline_day: int) -> dt.date:
    """The latest month whose deadline has passed (submissions on the deadline day are on time)."""
    month = add_months(today.replace(day=1), -1)
    while deadline(month, deadline_day) >= today:
        month = add_months(month, -1)
    return month


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.date


def _coverage(subs: pd.DataFrame) -> pd.DataFrame:
    """One row per submission and month it covers."""
    rows = []
    for s in subs.itertuples():
        if pd.isna(s.site_code) or pd.isna(s.first_month) or pd.isna(s.last_month):
            continue
        month = s.first_month
        while month <= s.last_month:
            rows.append((s.site_code, month, s.package, s.status, s.created_at, s.received_at, s.reasons))
            month = add_months(month, 1)
    return pd.DataFrame(rows, columns=["site_code", "month", "package", "status", "created_at", "received_at", "reasons"])


def board(subs: pd.DataFrame, delivered: pd.DataFrame, current: pd.DataFrame, sites: list[str], *,
          today: dt.date, deadline_day: int) -> pd.DataFrame:
    """The board from meta.submission rows (`subs`), every (site, dataset, month, package) ever
    collected (`delivered`, current and history) and the current ones (`current`)."""
    for f in (subs,):
        for c in ("first_month", "last_month"):
            f[c] = _dates(f[c])
    for f in (delivered, current):
        f["month"] = _dates(f["month"])
    dated = subs.dropna(subset=["first_month"])
    if dated.empty or not sites:
        return pd.DataFrame(columns=list(COLUMNS))
    start, end = min(dated["first_month"]), last_due_month(today, deadline_day)
    months = []
    while start <= end:
        months.append(start)
        start = add_months(start, 1)
    datasets = sorted(set(delivered["dataset"])) or sorted(CONTRACTS)
    grid = pd.DataFrame(list(itertools.product(sites, datasets, months)), columns=["site_code", "dataset", "month"])
    if grid.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    grid["deadline"] = [deadline(m, deadline_day) for m in grid["month"]]
    key = ["site_code", "dataset", "month"]

    created = subs[subs["status"] == "accepted"].groupby("package")["created_at"].min()
    first = delivered.assign(created_at=delivered["package"].map(created)).groupby(key)["created_at"].min()
    grid = grid.merge(current[key + ["package"]].drop_duplicates(key), on=key, how="left")
    grid = grid.merge(first.rename("first_created").reset_index(), on=key, how="left")

    cov = _coverage(subs)
    month_key = ["site_code", "month"]
    latest = lambda frame, by: frame.sort_values(by).drop_duplicates(month_key, keep="last")  # noqa: E731
    accepted = latest(cov[cov["status"] == "accepted"], "created_at")[month_key + ["package"]]
    rejected = latest(cov[cov["status"] == "rejected"], "received_at")[month_key + ["package"]]
    receipt = latest(cov, "received_at")[month_key + ["package", "status", "reasons"]].rename(
        columns={"package": "receipt_package", "status": "receipt_status", "reasons": "receipt_reasons"})
    grid = grid.merge(accepted.rename(columns={"package": "accepted_package"}), on=month_key, how="left")
    grid = grid.merge(rejected.rename(columns={"package": "rejected_package"}), on=month_key, how="left")
    grid = grid.merge(receipt, on=month_key, how="left")

    have = grid["package"].notna()
    on_time = pd.Series([pd.notna(c) and pd.Timestamp(c).date() <= d for c, d in zip(grid["first_created"], grid["deadline"])],
                        index=grid.index)  # fmt: skip
    only_rejected = ~have & grid["accepted_package"].isna() & grid["rejected_package"].notna()
    grid["status"] = "missing"
    grid.loc[have & on_time, "status"] = "submitted"
    grid.loc[have & ~on_time, "status"] = "late"
    grid.loc[only_rejected, "status"] = "rejected"
    grid.loc[only_rejected, "package"] = grid.loc[only_rejected, "rejected_package"]
    lacking = ~have & grid["accepted_package"].notna()
    grid.loc[lacking, "package"] = grid.loc[lacking, "accepted_package"]
    received = subs.groupby("package")["received_at"].max()
    grid["received_at"] = grid["package"].map(received)
    grid["receipt_reasons"] = grid["receipt_reasons"].where(grid["receipt_reasons"].fillna("") != "", None)
    return grid[list(COLUMNS)].sort_values(["site_code", "dataset", "month"]).reset_index(drop=True)


def build(wh: Warehouse, sites: list[str], *, today: dt.date, deadline_day: int = 15) -> int:
    """Rebuild the board from what has been collected; returns its number of rows."""
    subs = wh.query("select package, site_code, first_month, last_month, created_at, received_at, status, reasons "
                    "from meta.submission")  # fmt: skip
    delivered = wh.query("select distinct site_code, dataset, month, package from collected.dq_rows union "
                         "select distinct site_code, dataset, month, package from collected.dq_rows_history")  # fmt: skip
    current = wh.query("select distinct site_code, dataset, month, package from collected.dq_rows")
    frame = board(subs, delivered, current, sites, today=today, deadline_day=deadline_day)
    with wh.begin() as conn:
        wh.replace_table(conn, TABLE, frame, COLUMNS)
    return len(frame)
