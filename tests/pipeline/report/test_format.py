"""How figures print, and which Making Data Count icon a series gets."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.report.chart_scales import nice_ticks
from pipeline.report.format import gbp, month_label, pct_change, ratio_words, unit_format
from pipeline.report.icons import assurance_info, variation_info


def test_units_print_as_people_read_them():
    assert unit_format("proportion")(0.03614) == "3.6%"
    assert unit_format("proportion").delta(-0.03497) == "−3.5 percentage points"
    assert unit_format("per 1,000 bed days")(1.5963) == "1.60"
    assert unit_format("days")(6.111) == "6.11 days"
    assert unit_format("bed days")(24855.4) == "24,855"
    assert unit_format("proportion")(None) == "–"
    assert gbp(15824.56) == "£15,825" and gbp(-12.4) == "−£12"
    assert pct_change(-49.18) == "−49.2%"
    assert month_label(dt.date(2017, 10, 1)) == "Oct 2017"


@pytest.mark.parametrize("rr, words", [(0.7726, "23% lower"), (1.25, "25% higher"), (1.001, "no different")])
def test_rate_ratios_in_words(rr, words):
    assert ratio_words(rr) == words


def test_axis_labels_tell_ticks_apart():
    ticks = nice_ticks(0, 10.7)
    labels = [unit_format("per 1,000 bed days").axis(t, ticks[1] - ticks[0]) for t in ticks]
    assert len(set(labels)) == len(labels), labels
    ticks = nice_ticks(0.82, 0.95)
    labels = [unit_format("proportion").axis(t, ticks[1] - ticks[0]) for t in ticks]
    assert len(set(labels)) == len(labels) and all(label.endswith("%") for label in labels)


@pytest.mark.parametrize(
    "variation, direction, letter",
    [
        ("special_cause_improvement", "lower", "L"),
        ("special_cause_improvement", "higher", "H"),
        ("special_cause_concern", "lower", "H"),
        ("special_cause_concern", "higher", "L"),
        ("special_cause_neutral_high", "neutral", "H"),
        ("common_cause", "lower", ""),
    ],
)
def test_variation_icon_says_high_or_low_from_the_direction(variation, direction, letter):
    info = variation_info(variation, direction)
    assert info.letter == letter and info.kind == variation
    assert info.label  # always printed beside the icon


def test_assurance_icons_differ_by_letter_not_only_colour():
    letters = {a: assurance_info(a).letter for a in ("consistent_pass", "consistent_fail", "inconsistent", None)}
    assert len(set(letters.values())) == 4


def test_a_negative_return_is_shown_as_a_net_cost_and_payback_as_not_yet():
    from pipeline.report.site_view import return_row

    row = return_row({
        "level": "project", "project": "e-Obs", "investment_to_date_gbp": 5_000, "investment_recurring_gbp_per_year": 0,
        "value_evidenced_gbp": 0, "net_return_gbp": -5_000, "roi": -1, "roi_low": -1, "roi_high": -1,
        "payback_month": None, "who_bears_cost": "ward nurses",
    })  # fmt: skip
    assert row["net"] == "net cost £5,000" and row["roi"] == "-100% (-100% to -100%)" and row["payback"] == "not yet"
    assert row["who"] == "bears the cost: ward nurses" and not row["trust"]
    trust = return_row({"level": "trust", "investment_to_date_gbp": 0, "net_return_gbp": 1_200, "payback_month": None})
    assert trust["name"] == "Whole trust" and trust["investment"] == "none recorded" and trust["net"] == "£1,200"
