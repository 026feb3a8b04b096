"""Making Data Count SPC rules on small hand-built series (NHSRplotthedots' default behaviour)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from benefits import spc as S

# A baseline whose limits are easy to reason about: alternating 10 / 11 (never 7 on one side,
# never a trend), mean 10.5, every moving range 1, so the limits are 10.5 +/- 2.66 and the
# near (2-sigma) lines 10.5 +/- 1.7733.
BASE = [10.0, 11.0] * 6
MEAN, UPL, LPL = 10.5, 10.5 + 2.66, 10.5 - 2.66
NUPL, NLPL = 10.5 + 2.66 * 2 / 3, 10.5 - 2.66 * 2 / 3


def chart(tail, improvement="increase"):
    """Points after the baseline judged against the baseline's limits (fixed after 12 points)."""
    y = np.array(BASE + list(tail), dtype=float)
    return S.xmr(y, in_limits=np.arange(len(y)) < len(BASE), improvement=improvement)


def tail_of(c, attr):
    return list(getattr(c, attr)[len(BASE) :])


def test_limits_by_hand():
    y = np.array([10, 12, 11, 13, 12], dtype=float)
    c = S.xmr(y)
    # mean 11.6; moving ranges 2, 1, 2, 1 -> 1.5; none screened (all < 3.267 x 1.5)
    assert c.mean[0] == pytest.approx(11.6)
    assert c.mean_moving_range[0] == pytest.approx(1.5)
    assert c.upl[0] == pytest.approx(11.6 + 2.66 * 1.5)
    assert c.lpl[0] == pytest.approx(11.6 - 2.66 * 1.5)
    assert c.near_upl[0] == pytest.approx(11.6 + 2.66 * 1.5 * 2 / 3)
    assert c.near_lpl[0] == pytest.approx(11.6 - 2.66 * 1.5 * 2 / 3)


def test_moving_range_screening_is_done_once_and_can_be_turned_off():
    # moving ranges: six 1s, then 20, then 5.5 -> mean 31.5 / 8 = 3.9375; 20 >= 3.267 x that is
    # screened; the new mean is 11.5 / 7 = 1.643. A second pass would also drop 5.5 (> 5.37);
    # the package screens once, so 5.5 stays.
    y = np.array([0, 1, 0, 1, 0, 1, 0, 20, 25.5], dtype=float)
    assert S.xmr(y).mean_moving_range[0] == pytest.approx(11.5 / 7)
    assert S.xmr(y, screen_outliers=False).mean_moving_range[0] == pytest.approx(31.5 / 8)


def test_no_clipping_at_zero():
    y = np.array([0, 1, 0, 0, 2, 0, 0, 1, 0, 0], dtype=float)
    c = S.xmr(y, improvement="decrease")
    assert c.lpl[0] < 0  # a count cannot be negative, but the package does not clip and nor do we
    assert set(c.point_type) == {S.COMMON}


def test_outside_limits_is_strict():
    c = chart([MEAN, UPL + 0.01])
    assert tail_of(c, "rule_name") == [None, "outside_limits"]
    assert tail_of(c, "point_type") == [S.COMMON, S.IMPROVEMENT]
    exactly = chart([MEAN, float(c.upl[0])])  # a point on the limit is not outside it
    assert tail_of(exactly, "rule_name") == [None, None]
    below = chart([LPL - 0.01], improvement="increase")
    assert tail_of(below, "point_type") == [S.CONCERN]
    assert tail_of(chart([LPL - 0.01], improvement="decrease"), "point_type") == [S.IMPROVEMENT]


def test_trend_of_seven_and_ties():
    rising = [9.6, 9.8, 10.0, 10.2, 10.4, 10.6, 10.8]  # inside the near lines, crossing the mean
    c = chart(rising)
    assert tail_of(c, "rule_name") == ["trend"] * 7
    assert tail_of(c, "point_type") == [S.IMPROVEMENT] * 7
    assert tail_of(chart(rising, improvement="decrease"), "point_type") == [S.CONCERN] * 7
    # six points (five rises) are not a trend
    assert tail_of(chart(rising[:6]), "rule_name") == [None] * 6
    # a tie breaks the trend: 10.0, 10.0
    tied = [9.6, 9.8, 10.0, 10.0, 10.2, 10.4, 10.6, 10.8]
    assert tail_of(chart(tied), "rule_name") == [None] * 8
    falling = list(reversed(rising))
    assert tail_of(chart(falling, improvement="decrease"), "point_type") == [S.IMPROVEMENT] * 7


def test_trend_labels_follow_the_package_at_a_turning_point():
    # 2, then 1..7 rising, then 3: the package's own test vector; the seven rising points are the trend.
    y = np.array([2, 1, 2, 3, 4, 5, 6, 7, 3], dtype=float)
    c = S.xmr(y, in_limits=np.ones(9, bool), screen_outliers=False)
    trend = [r == "trend" for r in c.rule_name]
    assert trend[1:8] == [True] * 7 and not trend[0]
    assert (c.side[1:8] == 1).all()


def test_two_of_three_near_a_limit():
    close = NUPL + 0.3  # between the near line and the limit
    c = chart([close, 11.0, close])
    assert tail_of(c, "rule_name") == ["two_in_three", None, "two_in_three"]  # only the close points
    assert tail_of(c, "point_type") == [S.IMPROVEMENT, S.COMMON, S.IMPROVEMENT]
    # the package's test vector: close at positions 3 and 5 of 7 (here the ends dip below the
    # mean so that no run of 7 forms)
    c = chart([10.0, 11.0, close, 11.0, close, 11.0, 10.0])
    assert tail_of(c, "rule_name") == [None, None, "two_in_three", None, "two_in_three", None, None]


def test_points_beyond_the_limits_do_not_count_towards_two_of_three():
    close = NUPL + 0.3
    c = chart([close, UPL + 0.5, 11.0])
    assert tail_of(c, "rule_name") == [None, "outside_limits", None]


def test_two_close_points_on_opposite_sides_are_not_two_of_three():
    c = chart([NUPL + 0.3, NLPL - 0.3, 11.0])
    assert tail_of(c, "rule_name") == [None, None, None]


def test_two_of_three_needs_all_three_strictly_on_one_side():
    close = NUPL + 0.3
    assert tail_of(chart([close, MEAN, close]), "rule_name") == [None, None, None]  # on the mean
    assert tail_of(chart([close, 10.0, close]), "rule_name") == [None, None, None]  # below it


def test_run_of_seven_and_a_point_on_the_mean():
    above = [11.2, 11.0, 11.4, 10.9, 11.3, 11.1, 11.2]  # not monotone, inside the near lines
    c = chart(above, improvement="decrease")
    assert tail_of(c, "rule_name") == ["run"] * 7
    assert tail_of(c, "point_type") == [S.CONCERN] * 7
    assert tail_of(chart([10.0] + above[:6]), "rule_name") == [None] * 7  # six above the mean
    broken = above[:3] + [MEAN] + above[3:]  # a point exactly on the mean breaks the run
    assert tail_of(chart(broken), "rule_name") == [None] * 8


def test_first_matching_rule_names_the_point():
    # A run of 7 above the mean whose last point is also beyond the upper limit.
    c = chart([11.2, 11.0, 11.4, 10.9, 11.3, 11.1, UPL + 1])
    assert tail_of(c, "rule_name") == ["run"] * 6 + ["outside_limits"]
    # Seven rising points all above the mean: the trend rule outranks the run rule.
    c = chart([10.6, 10.7, 10.8, 10.9, 11.0, 11.1, 11.2])
    assert tail_of(c, "rule_name") == ["trend"] * 7


def test_neutral_direction_names_high_and_low():
    c = chart([UPL + 1, LPL - 1], improvement="neutral")
    assert tail_of(c, "point_type") == [S.NEUTRAL_HIGH, S.NEUTRAL_LOW]


def test_runs_never_cross_a_rebase():
    # 4 points above the mean at the end of group 0 and 3 above the mean at the start of group 1.
    g0 = BASE + [11.2, 11.0, 11.4, 10.9]
    g1 = [11.3, 11.1, 11.2] + BASE
    y = np.array(g0 + g1)
    in_limits = np.array([True] * 12 + [False] * 4 + [False] * 3 + [True] * 12)
    rebased = S.xmr(y, group=np.array([0] * len(g0) + [1] * len(g1)), in_limits=in_limits)
    assert set(rebased.rule_name) == {None}
    one_group = S.xmr(y, in_limits=np.arange(len(y)) < 12)
    assert list(one_group.rule_name[12:19]) == ["run"] * 7


def test_rebase_by_date_and_fix_after():
    months = pd.date_range("2020-01-01", periods=30, freq="MS")
    y = np.r_[np.tile([10.0, 11.0], 8), np.tile([5.0, 6.0], 7)]
    r = S.spc(pd.DataFrame({"m": months, "v": y}), "m", "v", rebase=["2021-05-01"])
    assert list(r.points["group"]) == [0] * 16 + [1] * 14
    assert r.points["mean"].iloc[0] == pytest.approx(10.5) and r.points["mean"].iloc[-1] == pytest.approx(5.5)
    fixed = S.spc(pd.DataFrame({"m": months, "v": y}), "m", "v", fix_after=12)
    assert fixed.points["mean"].iloc[-1] == pytest.approx(10.5)  # limits from the first 12 only
    assert fixed.points["in_limits"].sum() == 12
    # without a rebase or fixed limits the shift is special cause against the overall mean
    assert (S.spc(pd.DataFrame({"m": months, "v": y}), "m", "v").points["point_type"].iloc[-14:] != S.COMMON).all()


def test_constant_series():
    c = S.xmr(np.full(20, 5.0))
    assert c.mean_moving_range[0] == 0 and c.upl[0] == 5.0 and c.lpl[0] == 5.0
    assert set(c.point_type) == {S.COMMON}  # every point on the mean: no run, no trend, none outside


def test_series_shorter_than_seven():
    y = np.array([10.0, 11.0, 10.5, 11.5, 10.0])
    c = S.xmr(y)
    assert set(c.rule_name) == {None}
    c = S.xmr(np.array([10.0, 10.5, 10.0, 20.0]), in_limits=np.array([1, 1, 1, 0], bool))
    assert list(c.rule_name) == [None, None, None, "outside_limits"]
    single = S.xmr(np.array([3.0]))
    assert np.isnan(single.upl[0]) and single.point_type[0] == S.COMMON
    assert len(S.xmr(np.array([])).y) == 0


def test_missing_months_are_left_out_and_warned():
    months = pd.date_range("2020-01-01", periods=20, freq="MS")
    y = [10.0, 11.0] * 6 + [11.2, 11.0, 11.4, np.nan, 10.9, 11.3, 11.1, 11.2]
    r = S.spc(pd.DataFrame({"m": months, "v": y}), "m", "v", fix_after=12)
    assert len(r.points) == 19
    assert any("missing" in w for w in r.warnings)
    # the gap does not break the run: seven observed points above the mean
    assert list(r.points["rule"].iloc[12:]) == ["run"] * 7


def test_variation_and_assurance():
    c = chart([UPL + 1])
    assert S.variation(c) == S.IMPROVEMENT
    assert S.assurance(UPL + 1, LPL, UPL, "increase") == "consistent_fail"
    assert S.assurance(UPL + 1, LPL, UPL, "decrease") == "consistent_pass"
    assert S.assurance(LPL - 1, LPL, UPL, "increase") == "consistent_pass"
    assert S.assurance(LPL - 1, LPL, UPL, "decrease") == "consistent_fail"
    assert S.assurance(MEAN, LPL, UPL, "increase") == "inconsistent"
    assert S.assurance(MEAN, LPL, UPL, "neutral") is None
    assert S.assurance(None, LPL, UPL, "increase") is None


def test_assurance_uses_the_latest_group():
    months = pd.date_range("2020-01-01", periods=30, freq="MS")
    y = np.r_[np.tile([10.0, 11.0], 8), np.tile([5.0, 6.0], 7)]
    frame = pd.DataFrame({"m": months, "v": y})
    # target 9: inside the first group's limits, above the latest group's upper limit (8.16)
    assert S.spc(frame, "m", "v", improvement="decrease", target=9, rebase=["2021-05-01"]).assurance == "consistent_pass"
    assert S.spc(frame, "m", "v", improvement="decrease", target=9).assurance == "inconsistent"


def test_short_group_warning():
    months = pd.date_range("2020-01-01", periods=20, freq="MS")
    r = S.spc(pd.DataFrame({"m": months, "v": np.tile([1.0, 2.0], 10)}), "m", "v", rebase=["2021-02-01"])
    assert list(r.points["short_group_warning"]) == [False] * 13 + [True] * 7
    assert any("group 1 has 7 points" in w for w in r.warnings)


def test_summary_is_json_ready():
    import json

    months = pd.date_range("2020-01-01", periods=24, freq="MS")
    r = S.spc(pd.DataFrame({"m": months, "v": np.r_[np.tile([1.0, 2.0], 9), [9, 9, 9, 9, 9, 9]]}), "m", "v", target=3)
    summary = json.loads(json.dumps(r.summary()))
    assert summary["variation"] == S.IMPROVEMENT and summary["assurance"] == "inconsistent"
    assert summary["latest"]["x"] == "2021-12-01"


@pytest.mark.parametrize("seed", range(20))
def test_as_of_labels_equal_truncated_charts(seed):
    rng = np.random.default_rng(seed)
    y = np.r_[rng.normal(10, 1, 24), rng.normal(9 + seed % 3 * 0.5, 1, 30)]
    y = np.round(y, 1)  # ties happen
    base = np.arange(len(y)) < 24
    c = S.xmr(y, in_limits=base, improvement=-1)
    rows = np.arange(24, len(y))
    rule, side, a = S.label_as_of(c, rows)
    for k, m in enumerate(rows):
        t = S.xmr(y[: m + 1], in_limits=base[: m + 1], improvement=-1)
        assert (t.rule[a:] == rule[k, : m + 1 - a]).all()
        assert (t.side[a:] == side[k, : m + 1 - a]).all()


def test_direction_names():
    assert S.direction_sign("higher") == 1 and S.direction_sign("decrease") == -1 and S.direction_sign("neutral") == 0
    with pytest.raises(ValueError, match="increase, decrease or neutral"):
        S.direction_sign("sideways")


def test_dates_as_python_dates_work_for_rebase():
    months = [dt.date(2020, m, 1) for m in range(1, 13)]
    frame = pd.DataFrame({"m": pd.to_datetime(months), "v": np.arange(12.0)})
    assert S.spc(frame, "m", "v", rebase=[dt.date(2020, 7, 1)]).points["group"].tolist() == [0] * 6 + [1] * 6
