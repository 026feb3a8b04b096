"""Statistical process control as NHS England's Making Data Count does it (XmR charts).

The rules follow the NHS-R community's NHSRplotthedots package (its default behaviour), which
is the reference implementation of Making Data Count; docs/benefits.md lists where this module
deliberately differs. Everything works on plain numpy arrays so the benefits engine can run
thousands of charts a second; `spc()` wraps it for a data frame (analysts, the CLI).

A chart is split into groups (the whole series, or the spans between rebase dates). Each group
has its own centre line and limits, computed from all of its points or only from a chosen
subset (the first N points, or a baseline period): "fixed" limits then extend over the rest of
the group. Special-cause rules are evaluated within a group, so a run never crosses a rebase.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

LIMIT = 2.66  # 3 sigma for an XmR chart: 3 / d2 with d2 = 1.128
NEAR = LIMIT * 2 / 3  # 2 sigma
SCREEN = 3.267  # D4 for n = 2: moving ranges at or above D4 x mean moving range are screened out
RUN = 7  # points in a run or a trend
SHORT_GROUP = 12  # NHSRplotthedots warns when a group has fewer points than this

# Rule codes, in the order they are tried (first match names the point).
NO_RULE, OUTSIDE, TREND, TWO_IN_THREE, RUN_RULE = 0, 1, 2, 3, 4
RULES: dict[int, str | None] = {
    NO_RULE: None,
    OUTSIDE: "outside_limits",
    TREND: "trend",
    TWO_IN_THREE: "two_in_three",
    RUN_RULE: "run",
}
COMMON = "common_cause"
IMPROVEMENT = "special_cause_improvement"
CONCERN = "special_cause_concern"
NEUTRAL_HIGH = "special_cause_neutral_high"
NEUTRAL_LOW = "special_cause_neutral_low"
POINT_TYPES = (COMMON, IMPROVEMENT, CONCERN, NEUTRAL_HIGH, NEUTRAL_LOW)

_DIRECTIONS = {
    "increase": 1, "higher": 1, "up": 1,
    "decrease": -1, "lower": -1, "down": -1,
    "neutral": 0, "none": 0,
}  # fmt: skip


def direction_sign(direction: str | int | None) -> int:
    """+1 when higher is better, -1 when lower is better, 0 when neither (neutral)."""
    if direction is None:
        return 0
    if isinstance(direction, (int, np.integer)):
        return int(np.sign(direction))
    try:
        return _DIRECTIONS[str(getattr(direction, "value", direction)).strip().lower()]
    except KeyError:
        raise ValueError(f"improvement direction must be increase, decrease or neutral; got {direction!r}") from None


def direction_name(sign: int) -> str:
    return {1: "increase", -1: "decrease", 0: "neutral"}[int(sign)]


def point_type(side: np.ndarray, sign: int) -> np.ndarray:
    """Name each point from the side its special cause lies on (+1 high, -1 low, 0 none)."""
    side = np.asarray(side)
    out = np.full(side.shape, COMMON, dtype=object)
    if sign == 0:
        out[side > 0] = NEUTRAL_HIGH
        out[side < 0] = NEUTRAL_LOW
    else:
        oriented = side * sign
        out[oriented > 0] = IMPROVEMENT
        out[oriented < 0] = CONCERN
    return out


@dataclass
class Chart:
    """One XmR chart as arrays aligned with the input points."""

    y: np.ndarray
    group: np.ndarray  # 0, 1, ... in order
    mean: np.ndarray
    lpl: np.ndarray
    upl: np.ndarray
    near_lpl: np.ndarray
    near_upl: np.ndarray
    mean_moving_range: np.ndarray
    in_limits: np.ndarray  # the point fed its group's centre line and limits
    rule: np.ndarray  # rule codes (see RULES)
    side: np.ndarray  # +1 special cause above / increasing, -1 below / decreasing, 0 none
    sign: int

    @property
    def point_type(self) -> np.ndarray:
        return point_type(self.side, self.sign)

    @property
    def rule_name(self) -> np.ndarray:
        return np.array([RULES[int(r)] for r in self.rule], dtype=object)

    def group_sizes(self) -> np.ndarray:
        return np.bincount(self.group, minlength=int(self.group.max()) + 1 if len(self.group) else 0)


def _window_sum(flags: np.ndarray, width: int) -> np.ndarray:
    """out[i] = flags[i-width+1 .. i].sum() for i >= width-1, else 0."""
    n = len(flags)
    out = np.zeros(n, dtype=np.int64)
    if n >= width:
        c = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
        out[width - 1 :] = c[width:] - c[: n - width + 1]
    return out


@dataclass
class _Signals:
    """Where each rule's pattern ends, for one group (the inputs to labelling any prefix of it)."""

    outside: np.ndarray  # bool per point
    rtm: np.ndarray  # -1, 0, +1: below, on, above the mean
    close: np.ndarray  # beyond a near limit but not outside the limits
    diff: np.ndarray  # sign of the step from the previous point (0 for the first)
    trend_end: np.ndarray  # the RUN points ending here rise (or fall) strictly
    two3_end: np.ndarray  # the 3 points ending here: 2+ close, all strictly on one side
    run_end: np.ndarray  # the RUN points ending here lie strictly on one side of the mean


def _signals(y: np.ndarray, mean: float, lpl: float, upl: float, nlpl: float, nupl: float) -> _Signals:
    n = len(y)
    with np.errstate(invalid="ignore"):
        outside = (y > upl) | (y < lpl)
        rtm = np.sign(y - mean).astype(np.int8) if np.isfinite(mean) else np.zeros(n, dtype=np.int8)
        close = ~outside & ((y < nlpl) | (y > nupl))
    diff = np.zeros(n, dtype=np.int8)
    if n > 1:
        diff[1:] = np.sign(np.diff(y))
    # A tie (diff 0) breaks a trend; the first point has no step, so it never ends one.
    steps = RUN - 1
    trend_end = (_window_sum(diff == 1, steps) == steps) | (_window_sum(diff == -1, steps) == steps)
    trend_end[:steps] = False
    two3_end = (_window_sum(close, 3) >= 2) & (np.abs(_window_sum(rtm, 3)) == 3)
    run_end = (_window_sum(rtm == 1, RUN) == RUN) | (_window_sum(rtm == -1, RUN) == RUN)
    return _Signals(outside, rtm, close, diff, trend_end, two3_end, run_end)


def _part_of(ends: np.ndarray, width: int, rows: np.ndarray) -> np.ndarray:
    """part[k, j]: point j belongs to a pattern of `width` points ending at or before rows[k]."""
    n = len(ends)
    c = np.concatenate([[0], np.cumsum(ends, dtype=np.int64)])
    j = np.arange(n)[None, :]
    m = rows[:, None]
    hi = np.minimum(j + width, m + 1)
    return ((c[np.maximum(hi, j)] - c[j]) > 0) & (j <= m)


def _label(sig: _Signals, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rule code and side of every point as seen with data up to each of `rows` (row k, point j).

    Points after the row's last point get rule 0. Every rule flags a point only through
    patterns that end by then, which is what makes a prefix's labels computable here at once.
    """
    n = len(sig.rtm)
    j = np.arange(n)[None, :]
    m = rows[:, None]
    upto = j <= m
    trend = _part_of(sig.trend_end, RUN, rows)
    # A trend point's direction: the step to the next point when that one is in the trend too,
    # otherwise the step from the previous point (as NHSRplotthedots labels them).
    right = np.concatenate([sig.diff[1:], sig.diff[-1:]])[None, :]
    nxt = np.zeros_like(trend)
    nxt[:, :-1] = trend[:, 1:]
    trend_side = np.where(nxt & trend, right, sig.diff[None, :])
    two3 = _part_of(sig.two3_end, 3, rows) & sig.close[None, :]
    run = _part_of(sig.run_end, RUN, rows)
    outside = sig.outside[None, :] & upto
    rtm = np.broadcast_to(sig.rtm[None, :], trend.shape)
    rule = np.select([outside, trend, two3, run], [OUTSIDE, TREND, TWO_IN_THREE, RUN_RULE], NO_RULE).astype(np.int8)
    side = np.select([outside, trend, two3 | run], [rtm, trend_side, rtm], 0).astype(np.int8)
    return rule, side


def _group_limits(yg: np.ndarray, mg: np.ndarray, screen_outliers: bool) -> tuple[float, float]:
    """Centre line and mean moving range of one group from the points marked in `mg`."""
    base = yg[mg]
    mean = base.mean() if len(base) else np.nan
    # Moving ranges of consecutive points that both feed the limits.
    mr = np.abs(np.diff(yg))[mg[1:] & mg[:-1]]
    amr = mr.mean() if len(mr) else np.nan
    if screen_outliers and len(mr) and amr > 0:
        amr = mr[mr < SCREEN * amr].mean()
    return mean, amr


def xmr(
    y: Sequence[float] | np.ndarray,
    *,
    group: Sequence[int] | np.ndarray | None = None,
    in_limits: Sequence[bool] | np.ndarray | None = None,
    improvement: str | int = "increase",
    screen_outliers: bool = True,
) -> Chart:
    """XmR chart of consecutive values `y` (no missing values).

    `group` (non-decreasing integers) splits the chart at rebases; `in_limits` marks the points
    each group's centre line and limits are computed from (default: all of them).
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if np.isnan(y).any():
        raise ValueError("xmr: values must not be missing; drop missing points first")
    group = np.zeros(n, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
    if n and (np.diff(group) < 0).any():
        raise ValueError("xmr: groups must be in order")
    in_limits = np.ones(n, dtype=bool) if in_limits is None else np.asarray(in_limits, dtype=bool)
    sign = direction_sign(improvement)
    arrays = {k: np.full(n, np.nan) for k in ("mean", "lpl", "upl", "near_lpl", "near_upl", "amr")}
    rule = np.zeros(n, dtype=np.int8)
    side = np.zeros(n, dtype=np.int8)
    if n:
        starts = np.flatnonzero(np.concatenate([[True], np.diff(group) != 0]))
        bounds = list(zip(starts, list(starts[1:]) + [n]))
    else:
        bounds = []
    for a, b in bounds:
        mean, amr = _group_limits(y[a:b], in_limits[a:b], screen_outliers)
        lpl, upl = mean - LIMIT * amr, mean + LIMIT * amr
        nlpl, nupl = mean - NEAR * amr, mean + NEAR * amr
        for key, value in (("mean", mean), ("lpl", lpl), ("upl", upl), ("near_lpl", nlpl), ("near_upl", nupl), ("amr", amr)):
            arrays[key][a:b] = value
        r, sd = _label(_signals(y[a:b], mean, lpl, upl, nlpl, nupl), np.array([b - a - 1]))
        rule[a:b], side[a:b] = r[0], sd[0]
    return Chart(
        y=y,
        group=group,
        mean=arrays["mean"],
        lpl=arrays["lpl"],
        upl=arrays["upl"],
        near_lpl=arrays["near_lpl"],
        near_upl=arrays["near_upl"],
        mean_moving_range=arrays["amr"],
        in_limits=in_limits,
        rule=rule,
        side=side,
        sign=sign,
    )


def label_as_of(chart: Chart, rows: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Rules and sides of the last group's points as they stood at each of `rows` (point indices).

    Returns (rule[k, j], side[k, j], first index of the last group): row k holds what the chart
    showed with data up to point rows[k]. Valid only when the last group's limits come from
    points at or before every row (fixed limits), which is checked.
    """
    rows = np.asarray(rows, dtype=np.int64)
    n = len(chart.y)
    a = int(np.flatnonzero(chart.group == chart.group[-1])[0]) if n else 0
    if len(rows) and (rows.min() < a or rows.max() >= n):
        raise ValueError("label_as_of: rows must lie in the last group")
    feeding = np.flatnonzero(chart.in_limits[a:]) + a
    if len(rows) and len(feeding) and feeding.max() > rows.min():
        raise ValueError("label_as_of: the last group's limits use points after the first row")
    sig = _signals(chart.y[a:], chart.mean[-1], chart.lpl[-1], chart.upl[-1], chart.near_lpl[-1], chart.near_upl[-1])
    rule, side = _label(sig, rows - a)
    return rule, side, a


def assurance(target: float | None, lpl: float, upl: float, improvement: str | int) -> str | None:
    """Can the process meet the target? Judged on the latest group's limits (Making Data Count)."""
    sign = direction_sign(improvement)
    if target is None or sign == 0 or not np.isfinite(target):
        return None
    if target > upl:
        return "consistent_fail" if sign > 0 else "consistent_pass"
    if target < lpl:
        return "consistent_pass" if sign > 0 else "consistent_fail"
    return "inconsistent"


def variation(chart: Chart) -> str | None:
    """The variation icon: the point type of the latest point."""
    return str(chart.point_type[-1]) if len(chart.y) else None


SIGNAL_TEXT = {
    (OUTSIDE, 1): "above the upper process limit",
    (OUTSIDE, -1): "below the lower process limit",
    (TREND, 1): "part of a run of 7 increasing points",
    (TREND, -1): "part of a run of 7 decreasing points",
    (TWO_IN_THREE, 1): "2 of 3 points near the upper limit",
    (TWO_IN_THREE, -1): "2 of 3 points near the lower limit",
    (RUN_RULE, 1): "part of a run of 7 points above the mean",
    (RUN_RULE, -1): "part of a run of 7 points below the mean",
}


def signal_text(rule: int, side: int) -> str | None:
    return SIGNAL_TEXT.get((int(rule), int(side)))


# -- data frame interface (analysts, CLI) ------------------------------------------------------


@dataclass
class SpcResult:
    points: pd.DataFrame  # one row per point
    variation: str | None
    assurance: str | None
    improvement: str
    target: float | None
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        last = self.points.iloc[-1] if len(self.points) else None
        groups = []
        for g, part in self.points.groupby("group", sort=True):
            groups.append(
                {
                    "group": int(g),
                    "first_x": _jsonable(part["x"].iloc[0]),
                    "last_x": _jsonable(part["x"].iloc[-1]),
                    "points": int(len(part)),
                    "mean": _num(part["mean"].iloc[0]),
                    "lpl": _num(part["lpl"].iloc[0]),
                    "upl": _num(part["upl"].iloc[0]),
                }
            )
        return {
            "variation": self.variation,
            "assurance": self.assurance,
            "improvement": self.improvement,
            "target": self.target,
            "points": int(len(self.points)),
            "latest": None if last is None else {"x": _jsonable(last["x"]), "y": _num(last["y"]), "point_type": last["point_type"]},
            "special_cause_points": {
                t: int((self.points["point_type"] == t).sum()) for t in POINT_TYPES if t != COMMON
            },
            "groups": groups,
            "warnings": self.warnings,
        }


def _num(v):
    return None if v is None or not np.isfinite(v) else float(v)


def _jsonable(v):
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return v.date().isoformat() if v == v.normalize() else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return _num(float(v))
    return v


def _group_from_rebase(x: pd.Series, rebase: Sequence) -> np.ndarray:
    """A rebase starts a new group at the first point on or after it."""
    group = np.zeros(len(x), dtype=np.int64)
    if not len(x):
        return group
    xs = x.to_numpy()
    for r in rebase:
        r = _coerce_like(r, x)
        group += (xs >= r).astype(np.int64)
    return group


def _coerce_like(value, x: pd.Series):
    if pd.api.types.is_datetime64_any_dtype(x):
        return pd.Timestamp(value).to_datetime64()
    if pd.api.types.is_numeric_dtype(x):
        return float(value)
    return value


def spc(
    data: pd.DataFrame,
    x: str = "x",
    y: str = "y",
    *,
    improvement: str = "increase",
    target: float | None = None,
    rebase: Sequence = (),
    fix_after: int | None = None,
    screen_outliers: bool = True,
    warning_threshold: int = SHORT_GROUP,
) -> SpcResult:
    """Making Data Count XmR chart of `data[y]` ordered by `data[x]` (dates or numbers).

    Rows with a missing value are left out (consecutive means consecutive observed points).
    `rebase` values start new groups at the first point on or after each; `fix_after` computes
    each group's limits from its first N points only.
    """
    for col in (x, y):
        if col not in data.columns:
            raise ValueError(f"no column {col!r}; columns are {', '.join(map(str, data.columns))}")
    sign = direction_sign(improvement)
    warnings: list[str] = []
    frame = _points_frame(data, x, y, warnings)
    group = _group_from_rebase(frame["x"], list(rebase))
    in_limits = _fixed_limits(frame, group, fix_after)
    chart = xmr(frame["y"].to_numpy(), group=group, in_limits=in_limits, improvement=sign, screen_outliers=screen_outliers)
    sizes = chart.group_sizes()
    for g, size in enumerate(sizes):
        if size and size < warning_threshold:
            warnings.append(f"group {g} has {size} points (fewer than {warning_threshold}): its limits are trial limits")
    points = _chart_points(frame, chart, target, sizes, warning_threshold)
    assured = assurance(target, chart.lpl[-1], chart.upl[-1], sign) if len(points) else None
    for w in warnings:
        log.warning(w)
    return SpcResult(points, variation(chart), assured, direction_name(sign), target, warnings)


def _points_frame(data: pd.DataFrame, x: str, y: str, warnings: list[str]) -> pd.DataFrame:
    """x and y, rows without a y left out (with a warning), sorted by x; one row per x."""
    frame = pd.DataFrame({"x": data[x], "y": pd.to_numeric(data[y], errors="coerce")})
    missing = int(frame["y"].isna().sum())
    if missing:
        warnings.append(f"{missing} point(s) with a missing {y} were left out")
        frame = frame.dropna(subset=["y"])
    if frame["x"].duplicated().any():
        raise ValueError(f"{x} has repeated values; SPC needs one point per {x}")
    return frame.sort_values("x", kind="stable").reset_index(drop=True)


def _fixed_limits(frame: pd.DataFrame, group: np.ndarray, fix_after: int | None) -> np.ndarray | None:
    """The points each group's limits come from: its first `fix_after` (None: all of them)."""
    if fix_after is None:
        return None
    if fix_after < 1:
        raise ValueError("fix_after must be at least 1")
    pos = frame.groupby(group).cumcount().to_numpy()
    return pos < fix_after


def _chart_points(frame: pd.DataFrame, chart: Chart, target: float | None, sizes: np.ndarray, warning_threshold: int) -> pd.DataFrame:
    points = frame.assign(
        group=chart.group,
        mean=chart.mean,
        lpl=chart.lpl,
        upl=chart.upl,
        near_lpl=chart.near_lpl,
        near_upl=chart.near_upl,
        point_type=chart.point_type,
        rule=chart.rule_name,
        signal=[signal_text(r, s) for r, s in zip(chart.rule, chart.side)],
        in_limits=chart.in_limits,
        target=np.nan if target is None else float(target),
        short_group_warning=sizes[chart.group] < warning_threshold if len(chart.group) else np.array([], bool),
    )
    order = ["x", "y", "mean", "lpl", "upl", "near_lpl", "near_upl", "point_type", "rule", "signal", "group",
             "in_limits", "target", "short_group_warning"]  # fmt: skip
    return points[order]
