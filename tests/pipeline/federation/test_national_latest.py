"""A trust's packages each mark their own last month latest; the national mart keeps one latest row."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipeline.federation.national import _latest_flag


def test_only_the_newest_as_of_month_of_a_benefit_is_latest_across_packages():
    # Package 1 (to March) was made when March was the trust's latest month; package 2 brings April.
    fact = pd.DataFrame({
        "site_code": ["RF4", "RF4", "RF4", "RRK"],
        "benefit_id": ["B1", "B1", "B1", "B1"],
        "as_of_month": [dt.date(2024, 2, 1), dt.date(2024, 3, 1), dt.date(2024, 4, 1), dt.date(2024, 3, 1)],
        "is_latest": [False, True, True, True],
    })  # fmt: skip
    out = _latest_flag(fact)
    assert out["is_latest"].tolist() == [False, False, True, True]
    assert _latest_flag(fact.iloc[0:0]).empty
