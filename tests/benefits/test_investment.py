"""Investment and return on seeded figures with known answers: ROI, payback month, the split of
value by type, costs as costs."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from benefits.investment import month_range, return_rows
from benefits.register import Benefit, Investment, Project

MONTHS = month_range(dt.date(2020, 1, 1), dt.date(2021, 12, 1))  # 24 as-of months


def benefit(bid: str, project: str | None, **extra) -> Benefit:
    return Benefit(id=bid, title=bid, project=project, measure="m", go_live="2020-01",
                   baseline={"start": "2018-01", "end": "2019-12"}, **extra)  # fmt: skip


def fact(bid: str, value_per_month: float, valuation: str | None = "cash_releasing", half_width: float = 0.0,
         cost_per_month: float = 0.0) -> pd.DataFrame:  # fmt: skip
    """As-of rows whose evidenced value (or disbenefit cost) grows by a fixed amount a month."""
    k = pd.Series(range(1, len(MONTHS) + 1), dtype=float)
    return pd.DataFrame({
        "site_code": "RF4", "benefit_id": bid, "as_of_month": MONTHS, "is_latest": k == len(MONTHS),
        "valuation_type": valuation, "value_evidenced_gbp": value_per_month * k,
        "value_gbp_low": value_per_month * k - half_width, "value_gbp_high": value_per_month * k + half_width,
        "disbenefit_cost_gbp": cost_per_month * k,
    })  # fmt: skip


def test_roi_and_payback_of_a_project_with_known_answers():
    # GBP 12,000 up front and GBP 1,200 a year (100 a month) from Jan 2020; value GBP 1,000 a month.
    # Spent by month k: 12,000 + 100k; value 1,000k: covered from k = 14 (Feb 2021: 14,000 >= 13,400).
    # By Dec 2021 (k = 24): value 24,000, spent 14,400, net 9,600, ROI 9,600 / 14,400 = 2/3.
    invest = Investment(one_off_gbp=12_000, recurring_gbp_per_year=1_200, source="business case 2019")
    b = benefit("EPMA-1", "ePMA", valuation={"type": "cash_releasing", "gbp_per_unit": 1, "unit": "u", "source": "s"},
                investment=invest, who_gains="pharmacists", who_bears_cost="the trust")  # fmt: skip
    (project, trust) = return_rows("RF4", fact("EPMA-1", 1_000, half_width=3_000), [b], [])
    assert project["level"] == "project" and project["project"] == "ePMA" and trust["level"] == "trust"
    assert project["as_of_month"] == dt.date(2021, 12, 1)
    assert project["investment_to_date_gbp"] == pytest.approx(14_400)
    assert project["value_evidenced_gbp"] == pytest.approx(24_000)
    assert project["net_return_gbp"] == pytest.approx(9_600)
    assert project["roi"] == pytest.approx(2 / 3)
    assert project["roi_low"] == pytest.approx((21_000 - 14_400) / 14_400)
    assert project["roi_high"] == pytest.approx((27_000 - 14_400) / 14_400)
    assert project["payback_month"] == dt.date(2021, 2, 1)
    assert project["value_evidenced_cash_releasing_gbp"] == pytest.approx(24_000)
    assert project["who_gains"] == "pharmacists" and project["investment_sources"] == "business case 2019"
    assert {k: trust[k] for k in ("roi", "payback_month")} == {k: project[k] for k in ("roi", "payback_month")}


def test_a_shared_project_investment_public_money_and_a_disbenefit_are_costed_as_such():
    # Project ePMA: GBP 30,000 one-off from its earliest go-live (Jan 2020), shared by two benefits:
    # cash-releasing GBP 500 a month and public money GBP 1,000 a month; a disbenefit costs GBP 250 a
    # month. Net by month k: 1,250k - 30,000 >= 0 from k = 24 (Dec 2021) exactly: net 0, ROI 0.
    # Project e-Obs: GBP 5,000 from Jun 2021, nothing evidenced: a net cost of 5,000, ROI -100%.
    benefits = [
        benefit("A", "ePMA"), benefit("B", "ePMA"), benefit("C", "ePMA"), benefit("D", "e-Obs"),
    ]
    projects = [
        Project(name="ePMA", investment=Investment(one_off_gbp=30_000, source="capital bid"),
                who_gains="patients", who_bears_cost="ward nurses (training time)"),
        Project(name="e-Obs", investment=Investment(one_off_gbp=5_000, start="2021-06", source="invoice")),
    ]  # fmt: skip
    rows = pd.concat([
        fact("A", 500, "cash_releasing"), fact("B", 1_000, "public_money"),
        fact("C", 0, "non_cash_releasing", cost_per_month=250), fact("D", 0, None),
    ])  # fmt: skip
    epma, eobs, trust = return_rows("RF4", rows, benefits, projects)
    assert epma["value_evidenced_gbp"] == pytest.approx(36_000)
    assert epma["value_evidenced_public_money_gbp"] == pytest.approx(24_000)
    assert epma["value_evidenced_non_cash_releasing_gbp"] == 0
    assert epma["disbenefit_cost_gbp"] == pytest.approx(6_000) and epma["investment_to_date_gbp"] == 30_000
    assert epma["net_return_gbp"] == pytest.approx(0) and epma["roi"] == pytest.approx(0)
    assert epma["payback_month"] == dt.date(2021, 12, 1)
    assert epma["who_bears_cost"] == "ward nurses (training time)"
    assert eobs["investment_to_date_gbp"] == 5_000 and eobs["net_return_gbp"] == -5_000 and eobs["roi"] == -1
    assert eobs["payback_month"] is None
    assert trust["investment_to_date_gbp"] == 35_000 and trust["net_return_gbp"] == pytest.approx(-5_000)
    assert trust["roi"] == pytest.approx(-5_000 / 35_000) and trust["payback_month"] is None
    assert trust["investment_sources"] == "capital bid; invoice"


def test_value_evidenced_and_then_lost_leaves_no_payback_and_no_investment_no_roi():
    b = benefit("A", None, investment=Investment(one_off_gbp=1_000, source="s"))
    rows = fact("A", 200)
    rows.loc[rows.index[-3:], "value_evidenced_gbp"] = 0.0  # the effect's CI reaches no change again
    (row, _) = return_rows("RF4", rows, [b], [])
    assert row["project"] is None and row["payback_month"] is None and row["roi"] == -1
    (row, _) = return_rows("RF4", fact("A", 200), [benefit("A", None)], [])
    assert row["investment_to_date_gbp"] == 0 and row["roi"] is None and row["payback_month"] is None


def test_investment_accrues_monthly_from_its_start():
    i = Investment(one_off_gbp=100, recurring_gbp_per_year=1_200, start="2020-03", source="s")
    assert i.to_date(i.start, dt.date(2020, 2, 1)) == 0
    assert i.to_date(i.start, dt.date(2020, 3, 1)) == 200
    assert i.to_date(i.start, dt.date(2021, 2, 1)) == 1_300
