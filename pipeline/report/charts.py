"""Charts as inline SVG, rendered here in Python: print-perfect, no script needed to see them, and
testable through the DOM (every point is an element with data attributes and a <title> for hover).

* `spc_chart`: a benefit's Making Data Count chart from `fact_benefit_spc`.
* `small_multiple`: one site's national measure by quarter, with its financial-year values.
* `sparkline`: a region's measure by quarter, for the index.
* `status_strip`: a benefit's status month by month since go-live.
* `bar_strip`: quarantined rows per month of data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from pipeline.report.format import UnitFormat, as_date, as_float, is_missing, month_key, month_label, words
from pipeline.report.icons import GREY, POINT_COLOURS, RED, status_colour, status_letter, status_words

INK = "#212b32"
MUTED = "#4c6272"
GRID = "#e8edee"
LIMIT = "#5f6368"


def _f(v: float) -> str:
    return f"{v:.1f}"


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, v = [], first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    return ticks


@dataclass
class Linear:
    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, v: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (v - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)


def _domain(values: Iterable[Any], *, nonnegative: bool, at_most_one: bool, pad: float = 0.06) -> tuple[float, float]:
    vals = [v for v in (as_float(x) for x in values) if v is not None and math.isfinite(v)]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    span = hi - lo or (abs(hi) * 0.1 or 1.0)
    lo, hi = lo - span * pad, hi + span * pad
    if nonnegative:
        lo = max(lo, 0.0)
    if at_most_one:
        hi = min(hi, 1.0)
    if hi <= lo:
        hi = lo + span
    return lo, hi


def point_shape(point_type: str | None, x: float, y: float, size: float = 1.0) -> str:
    """The marker of an SPC point: shape AND colour differ by point type."""
    colour = POINT_COLOURS.get(point_type or "", GREY)
    if point_type == "special_cause_improvement":
        s = 4.2 * size
        return f'<rect x="{_f(x - s)}" y="{_f(y - s)}" width="{_f(2 * s)}" height="{_f(2 * s)}" fill="{colour}"/>'
    if point_type == "special_cause_concern":
        s = 5.6 * size
        return (
            f'<path d="M{_f(x)} {_f(y - s)}L{_f(x + s)} {_f(y)}L{_f(x)} {_f(y + s)}L{_f(x - s)} {_f(y)}Z" '
            f'fill="{colour}"/>'
        )
    if point_type in ("special_cause_neutral_high", "special_cause_neutral_low"):
        s = 5.4 * size
        up = point_type.endswith("high")
        tip, base = (y - s, y + s * 0.7) if up else (y + s, y - s * 0.7)
        return f'<path d="M{_f(x)} {_f(tip)}L{_f(x + s)} {_f(base)}L{_f(x - s)} {_f(base)}Z" fill="{colour}"/>'
    return f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(3.4 * size)}" fill="{colour}"/>'


POINT_WORDS = {
    "common_cause": "common cause",
    "special_cause_improvement": "special cause improvement",
    "special_cause_concern": "special cause concern",
    "special_cause_neutral_high": "special cause, high",
    "special_cause_neutral_low": "special cause, low",
}


def legend_marker(point_type: str) -> Markup:
    return Markup(
        f'<svg aria-hidden="true" width="14" height="14" viewBox="0 0 14 14">{point_shape(point_type, 7, 7)}</svg>'
    )


def _line_marker(cls: str) -> Markup:
    return Markup(
        f'<svg aria-hidden="true" width="26" height="10" viewBox="0 0 26 10"><line class="{cls}" x1="1" y1="5" '
        f'x2="25" y2="5"/></svg>'
    )


def spc_legend(point_types: Iterable[str], *, target: bool, counterfactual: bool, ramp: bool, extended: bool,
               provisional: bool = False) -> Markup:
    seen = set(point_types)
    items = []
    for t in (
        "common_cause",
        "special_cause_improvement",
        "special_cause_concern",
        "special_cause_neutral_high",
        "special_cause_neutral_low",
    ):
        if t in seen or t in ("common_cause", "special_cause_improvement", "special_cause_concern"):
            items.append(f"<li>{legend_marker(t)} {escape(POINT_WORDS[t])}</li>")
    items.append(f"<li>{_line_marker('limit mean')} mean</li>")
    items.append(f"<li>{_line_marker('limit upl')} process limits</li>")
    if extended:
        items.append(f"<li>{_line_marker('limit baseline-extended')} baseline mean and limits, extended</li>")
    if target:
        items.append(f"<li>{_line_marker('target')} target</li>")
    if counterfactual:
        items.append(f"<li>{_line_marker('counterfactual')} expected without the change (ITS, 95% CI shaded)</li>")
    items.append(
        '<li><svg aria-hidden="true" width="14" height="14" viewBox="0 0 14 14"><rect class="band baseline" '
        'width="14" height="14"/></svg> baseline period</li>'
    )
    if ramp:
        items.append(
            '<li><svg aria-hidden="true" width="14" height="14" viewBox="0 0 14 14"><rect class="band ramp" '
            'width="14" height="14"/></svg> ramp-in</li>'
        )
    if provisional:
        items.append(
            '<li><svg aria-hidden="true" width="14" height="14" viewBox="0 0 14 14"><circle class="provisional-ring" '
            'cx="7" cy="7" r="5.5"/></svg> provisional month (incomplete; left out of every estimate)</li>'
        )
    return Markup('<ul class="chart-legend">' + "".join(items) + "</ul>")


def _num(row: dict, key: str) -> float | None:
    return as_float(row.get(key))


def _bool(v: Any) -> bool:
    return False if is_missing(v) else bool(v)


def spc_chart(points: pd.DataFrame, benefit: dict, fmt: UnitFormat, *, chart_id: str, title: str) -> Markup:
    """A benefit's SPC chart in the Making Data Count style.

    Points are coloured (and shaped) by their point type against the baseline limits, the
    evidence of change that drives the variation icon and the status. Limits step where the
    chart is rebased (baseline start, go-live, end of ramp-in): after go-live they describe
    the new process, which the assurance icon compares with the target; the baseline mean and
    limits carry on faintly after go-live so the evidence can be read against them.
    """
    rows = points.sort_values("month").to_dict("records")
    months = [as_date(r["month"]) for r in rows]
    n = len(rows)
    W, H = 760, 300
    left, right, top, bottom = 62, 124, 30, 46
    direction = str(benefit.get("improvement_direction") or "neutral")
    target = _num(benefit, "target_value")
    go_live = as_date(benefit.get("go_live_month"))
    ramp = int(as_float(benefit.get("ramp_months")) or 0)
    b_start, b_end = as_date(benefit.get("baseline_start")), as_date(benefit.get("baseline_end"))

    values = [_num(r, "value") for r in rows]
    observed = [v for v in values if v is not None]
    nonneg = all(v >= 0 for v in observed)
    domain_values: list[Any] = list(observed)
    for r in rows:
        if r.get("segment") == "pre_baseline":
            continue  # a few months before the baseline: their own limits mean little, so not drawn
        for k in ("rebased_mean", "rebased_upl", "rebased_lpl", "mean", "upl", "lpl", "its_counterfactual"):
            domain_values.append(r.get(k))
    if target is not None:
        domain_values.append(target)
    lo, hi = _domain(
        domain_values, nonnegative=nonneg, at_most_one=fmt.unit == "proportion" and all(v <= 1 for v in observed)
    )
    step = (W - left - right) / max(n, 1)
    x_of = [left + step * (i + 0.5) for i in range(n)]
    y = Linear(lo, hi, H - bottom, top)
    index = {m: i for i, m in enumerate(months)}

    def x_edge(i: int) -> float:
        return left + step * i

    out: list[str] = []
    clip = f"{chart_id}-clip"
    out.append(
        f'<clipPath id="{clip}"><rect x="{left}" y="{top}" width="{W - left - right}" height="{H - top - bottom}"/></clipPath>'
    )

    # Bands: baseline period and ramp-in.
    def band(start, end, cls: str, label: str) -> None:
        idx = [i for i, m in enumerate(months) if m and start <= m <= end]
        if not idx:
            return
        x0, x1 = x_edge(idx[0]), x_edge(idx[-1] + 1)
        out.append(
            f'<rect class="band {cls}" x="{_f(x0)}" y="{top}" width="{_f(x1 - x0)}" height="{H - top - bottom}"/>'
        )
        out.append(
            f'<text class="band-label" x="{_f((x0 + x1) / 2)}" y="{top - 6}" text-anchor="middle">{escape(label)}</text>'
        )

    if b_start and b_end:
        band(b_start, b_end, "baseline", "baseline")
    if go_live and ramp > 0:
        ramp_end = (pd.Timestamp(go_live) + pd.DateOffset(months=ramp - 1)).date()
        band(go_live, ramp_end, "ramp", "ramp-in")

    # Grid and axes.
    ticks = nice_ticks(lo, hi)
    tick_step = ticks[1] - ticks[0] if len(ticks) > 1 else (hi - lo)
    for t in ticks:
        yy = y(t)
        out.append(f'<line class="grid" x1="{left}" x2="{W - right}" y1="{_f(yy)}" y2="{_f(yy)}"/>')
        out.append(
            f'<text class="tick" x="{left - 6}" y="{_f(yy + 3.5)}" text-anchor="end">{escape(fmt.axis(t, tick_step))}</text>'
        )
    out.append(f'<line class="axis" x1="{left}" x2="{W - right}" y1="{H - bottom}" y2="{H - bottom}"/>')
    for i, m in enumerate(months):
        if m is None:
            continue
        if m.month in (1, 4, 7, 10):
            major = m.month == 4
            out.append(
                f'<line class="xtick" x1="{_f(x_of[i])}" x2="{_f(x_of[i])}" y1="{H - bottom}" y2="{H - bottom + (6 if major else 3)}"/>'
            )
            if major or n <= 18:
                out.append(
                    f'<text class="tick" x="{_f(x_of[i])}" y="{H - bottom + 18}" text-anchor="middle">{m:%b %Y}</text>'
                )

    body: list[str] = []
    # Limits of the rebased chart: one segment per group.
    groups: dict[Any, list[int]] = {}
    for i, r in enumerate(rows):
        g = r.get("rebased_group")
        if not is_missing(g) and r.get("segment") != "pre_baseline":
            groups.setdefault(int(g), []).append(i)
    last_group = None
    for g, idx in groups.items():
        r0 = rows[idx[0]]
        x0, x1 = x_edge(idx[0]) + 2, x_edge(idx[-1] + 1) - 2
        for key, cls in (("rebased_mean", "mean"), ("rebased_upl", "upl"), ("rebased_lpl", "lpl")):
            v = _num(r0, key)
            if v is None:
                continue
            body.append(
                f'<path class="limit {cls}" data-group="{g}" data-value="{v!r}" d="M{_f(x0)} {_f(y(v))}H{_f(x1)}">'
                f"<title>{escape(cls.upper() if cls != 'mean' else 'Mean')} {escape(fmt(v))} "
                f"({month_label(months[idx[0]])} to {month_label(months[idx[-1]])})</title></path>"
            )
        last_group = (g, idx)

    # Baseline mean and limits carried on past go-live (the evidence chart's limits).
    if go_live:
        after = [i for i, m in enumerate(months) if m and m >= go_live]
        if after:
            r0 = rows[after[0]]
            x0, x1 = x_edge(after[0]) + 2, x_edge(after[-1] + 1) - 2
            for key in ("mean", "upl", "lpl"):
                v = _num(r0, key)
                if v is None:
                    continue
                body.append(
                    f'<path class="limit baseline-extended" data-line="{key}" d="M{_f(x0)} {_f(y(v))}H{_f(x1)}">'
                    f"<title>Baseline {escape(key.upper() if key != 'mean' else 'mean')} {escape(fmt(v))}, extended</title></path>"
                )

    # ITS counterfactual since go-live, with its 95% CI.
    cf = [
        (i, _num(r, "its_counterfactual"), _num(r, "its_counterfactual_low"), _num(r, "its_counterfactual_high"))
        for i, r in enumerate(rows)
    ]
    cf = [c for c in cf if c[1] is not None]
    if cf:
        band_pts = [c for c in cf if c[2] is not None and c[3] is not None]
        if len(band_pts) > 1:
            upper = " ".join(f"{_f(x_of[i])},{_f(y(h))}" for i, _, _, h in band_pts)
            lower = " ".join(f"{_f(x_of[i])},{_f(y(lw))}" for i, _, lw, _ in reversed(band_pts))
            body.append(f'<polygon class="counterfactual-ci" points="{upper} {lower}"/>')
        path = " ".join(f"{_f(x_of[i])},{_f(y(v))}" for i, v, _, _ in cf)
        body.append(
            f'<polyline class="counterfactual" points="{path}"><title>Expected without the change (ITS counterfactual)</title></polyline>'
        )

    if target is not None:
        body.append(
            f'<path class="target" data-value="{target!r}" d="M{left} {_f(y(target))}H{W - right}">'
            f"<title>Target {escape(fmt(target))}</title></path>"
        )

    # Go-live: the chart is rebased here.
    if go_live and go_live in index:
        gx = x_edge(index[go_live])
        out.append(f'<line class="go-live" x1="{_f(gx)}" x2="{_f(gx)}" y1="{top - 2}" y2="{H - bottom}"/>')
        out.append(
            f'<text class="go-live-label" x="{_f(gx + 4)}" y="{top + 13}">go-live {go_live:%b %Y}</text>'
            f'<text class="go-live-label sub" x="{_f(gx + 4)}" y="{top + 25}">limits rebased</text>'
        )

    # The value line, then the points.
    segs, cur = [], []
    for i, v in enumerate(values):
        if v is None:
            if len(cur) > 1:
                segs.append(cur)
            cur = []
        else:
            cur.append(f"{_f(x_of[i])},{_f(y(v))}")
    if len(cur) > 1:
        segs.append(cur)
    for s in segs:
        body.append(f'<polyline class="value-line" points="{" ".join(s)}"/>')

    pts: list[str] = []
    for i, r in enumerate(rows):
        v = values[i]
        m = months[i]
        if _bool(r.get("suppressed")) and v is None:
            pts.append(
                f'<g class="pt suppressed" data-month="{month_key(m)}" data-suppressed="true">'
                f"<title>{month_label(m)}: suppressed (small count)</title>"
                f'<text x="{_f(x_of[i])}" y="{H - bottom - 4}" text-anchor="middle" class="supp-mark">S</text></g>'
            )
            continue
        if v is None:
            continue
        ptype = r.get("point_type") if not is_missing(r.get("point_type")) else "common_cause"
        rtype = r.get("rebased_point_type")
        tip = [f"{month_label(m)}: {fmt(v)}", POINT_WORDS.get(ptype, words(ptype)) + " against the baseline"]
        if not is_missing(r.get("signal")):
            tip.append(str(r["signal"]))
        if not is_missing(rtype) and rtype != ptype:
            tip.append(f"{POINT_WORDS.get(rtype, words(rtype))} on the rebased chart")
        if not is_missing(r.get("segment")):
            tip.append(words(r["segment"]))
        provisional = _bool(r.get("provisional"))
        if provisional:
            tip.append("provisional: the month is not complete yet, so no estimate uses it")
        ring = (
            f'<circle class="provisional-ring" cx="{_f(x_of[i])}" cy="{_f(y(v))}" r="7"/>' if provisional else ""
        )
        pts.append(
            f'<g class="pt{" provisional" if provisional else ""}" data-month="{month_key(m)}" data-value="{v!r}" '
            f'data-point-type="{escape(ptype)}" data-provisional="{str(provisional).lower()}" '
            f'data-rebased-point-type="{escape("" if is_missing(rtype) else rtype)}">'
            f"<title>{escape(' · '.join(tip))}</title>{point_shape(ptype, x_of[i], y(v))}{ring}</g>"
        )

    out.append(f'<g clip-path="url(#{clip})">' + "".join(body) + "</g>")
    out.append('<g class="points">' + "".join(pts) + "</g>")

    # End labels for the latest process and the target (right margin), nudged apart.
    labels: list[tuple[float, str, str]] = []
    if last_group:
        r0 = rows[last_group[1][0]]
        for key, name in (("rebased_upl", "UPL"), ("rebased_mean", "Mean"), ("rebased_lpl", "LPL")):
            v = _num(r0, key)
            if v is not None and lo <= v <= hi:
                labels.append((y(v), f"{name} {fmt(v)}", "end-label"))
    if target is not None and lo <= target <= hi:
        labels.append((y(target), f"Target {fmt(target)}", "end-label target-label"))
    labels.sort()
    placed: list[float] = []
    for yy, text, cls in labels:
        if placed and yy - placed[-1] < 12:
            yy = placed[-1] + 12
        placed.append(yy)
        out.append(f'<text class="{cls}" x="{W - right + 6}" y="{_f(yy + 3.5)}">{escape(text)}</text>')

    latest = next((i for i in range(n - 1, -1, -1) if values[i] is not None), None)
    desc = f"{n} months from {month_label(months[0]) if n else '–'} to {month_label(months[-1]) if n else '–'}"
    if latest is not None:
        desc += f"; latest {fmt(values[latest])} in {month_label(months[latest])}"
    return Markup(
        f'<svg class="spc-chart" id="{chart_id}" data-points="{sum(v is not None for v in values)}" '
        f'data-direction="{escape(direction)}" viewBox="0 0 {W} {H}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        + "".join(out)
        + "</svg>"
    )


def small_multiple(
    quarters: Sequence[dict],
    years: Sequence[dict],
    fmt: UnitFormat,
    domain: tuple[float, float],
    periods: Sequence[Any],
    *,
    chart_id: str,
    title: str,
) -> Markup:
    """One organisation's measure by financial quarter (points) with each financial year's value
    (a step behind them). Suppressed periods are marked `S` on the axis, never drawn as zero;
    a period with no data is left empty."""
    W, H = 280, 150
    left, right, top, bottom = 44, 8, 10, 26
    n = len(periods)
    step = (W - left - right) / max(n, 1)
    pos = {p: i for i, p in enumerate(periods)}
    x = [left + step * (i + 0.5) for i in range(n)]
    lo, hi = domain
    y = Linear(lo, hi, H - bottom, top)
    out: list[str] = []
    ticks = nice_ticks(lo, hi, 3)
    tick_step = ticks[1] - ticks[0] if len(ticks) > 1 else (hi - lo)
    for t in ticks:
        out.append(f'<line class="grid" x1="{left}" x2="{W - right}" y1="{_f(y(t))}" y2="{_f(y(t))}"/>')
        out.append(
            f'<text class="tick" x="{left - 4}" y="{_f(y(t) + 3)}" text-anchor="end">{escape(fmt.axis(t, tick_step))}</text>'
        )
    out.append(f'<line class="axis" x1="{left}" x2="{W - right}" y1="{H - bottom}" y2="{H - bottom}"/>')
    for i, p in enumerate(periods):
        d = as_date(p)
        if d and d.month == 4:
            out.append(
                f'<line class="fy-sep" x1="{_f(left + step * i)}" x2="{_f(left + step * i)}" y1="{top}" y2="{H - bottom + 4}"/>'
            )
            out.append(
                f'<text class="tick" x="{_f(left + step * i + 2)}" y="{H - bottom + 14}">{d.year}/{(d.year + 1) % 100:02d}</text>'
            )

    for fy in years:
        start = as_date(fy.get("start"))
        idx = [
            pos[p] for p in periods if start and as_date(p) and start <= as_date(p) < start.replace(year=start.year + 1)
        ]
        if not idx:
            continue
        x0, x1 = left + step * min(idx) + 1, left + step * (max(idx) + 1) - 1
        if fy.get("suppressed"):
            out.append(
                f'<g class="fy-suppressed" data-period="{escape(fy.get("label", ""))}" data-suppressed="true">'
                f"<title>{escape(fy.get('label', ''))}: suppressed</title>"
                f'<text class="supp-mark" x="{_f((x0 + x1) / 2)}" y="{top + 9}" text-anchor="middle">FY suppressed</text></g>'
            )
            continue
        v = as_float(fy.get("value"))
        if v is None:
            continue
        out.append(
            f'<path class="fy" data-period="{escape(fy.get("label", ""))}" data-value="{v!r}" '
            f'd="M{_f(x0)} {_f(y(v))}H{_f(x1)}"><title>{escape(fy.get("label", ""))}: {escape(fmt(v))}</title></path>'
        )

    line, segs = [], []
    pts = []
    for q in quarters:
        p = q.get("start")
        i = pos.get(p)
        if i is None:
            continue
        label = q.get("label", month_label(p))
        if q.get("suppressed"):
            if len(line) > 1:
                segs.append(line)
            line = []
            pts.append(
                f'<g class="q suppressed" data-period="{escape(label)}" data-suppressed="true">'
                f"<title>{escape(label)}: suppressed (small numbers)</title>"
                f'<text class="supp-mark" x="{_f(x[i])}" y="{H - bottom - 3}" text-anchor="middle">S</text></g>'
            )
            continue
        v = as_float(q.get("value"))
        if v is None:
            if len(line) > 1:
                segs.append(line)
            line = []
            continue
        line.append(f"{_f(x[i])},{_f(y(v))}")
        pts.append(
            f'<g class="q" data-period="{escape(label)}" data-value="{v!r}"><title>{escape(label)}: {escape(fmt(v))}</title>'
            f'<circle cx="{_f(x[i])}" cy="{_f(y(v))}" r="2.6"/></g>'
        )
    if len(line) > 1:
        segs.append(line)
    for s in segs:
        out.append(f'<polyline class="value-line" points="{" ".join(s)}"/>')
    out.extend(pts)
    return Markup(
        f'<svg class="small-multiple" id="{chart_id}" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>" + "".join(out) + "</svg>"
    )


def sparkline(quarters: Sequence[dict], fmt: UnitFormat, periods: Sequence[Any], *, label: str) -> Markup:
    W, H, pad = 112, 34, 4
    vals = [as_float(q.get("value")) for q in quarters if not q.get("suppressed")]
    lo, hi = _domain(vals, nonnegative=False, at_most_one=False, pad=0.1)
    pos = {p: i for i, p in enumerate(periods)}
    n = max(len(periods), 1)
    step = (W - 2 * pad) / n
    y = Linear(lo, hi, H - pad - 6, pad)
    line, segs, marks = [], [], []
    for q in quarters:
        i = pos.get(q.get("start"))
        if i is None:
            continue
        xx = pad + step * (i + 0.5)
        if q.get("suppressed"):
            if len(line) > 1:
                segs.append(line)
            line = []
            marks.append(
                f'<g class="q suppressed" data-suppressed="true"><title>{escape(q.get("label", ""))}: suppressed</title>'
                f'<text class="supp-mark" x="{_f(xx)}" y="{H - 1}" text-anchor="middle">S</text></g>'
            )
            continue
        v = as_float(q.get("value"))
        if v is None:
            if len(line) > 1:
                segs.append(line)
            line = []
            continue
        line.append(f"{_f(xx)},{_f(y(v))}")
        marks.append(
            f'<g class="q" data-value="{v!r}"><title>{escape(q.get("label", ""))}: {escape(fmt(v))}</title>'
            f'<circle cx="{_f(xx)}" cy="{_f(y(v))}" r="1.8"/></g>'
        )
    if len(line) > 1:
        segs.append(line)
    body = "".join(f'<polyline class="value-line" points="{" ".join(s)}"/>' for s in segs) + "".join(marks)
    return Markup(
        f'<svg class="sparkline" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def status_strip(timeline: Sequence[dict], *, label: str) -> Markup:
    """One cell per month since go-live: the benefit's status that month (colour and letter)."""
    cell = 16
    W, H = max(len(timeline), 1) * cell, 30
    out = []
    last_label = 0
    for i, r in enumerate(timeline):
        s = r.get("status")
        m = r.get("as_of_month")
        out.append(
            f'<g class="status-cell" data-month="{month_key(m)}" data-status="{escape(s or "")}">'
            f"<title>{month_label(m)}: {escape(status_words(s))}</title>"
            f'<rect x="{i * cell + 0.5}" y="2" width="{cell - 1}" height="{cell}" fill="{status_colour(s)}"/>'
            f'<text x="{i * cell + cell / 2}" y="13.5" text-anchor="middle">{status_letter(s)}</text></g>'
        )
        d = as_date(m)
        if d and (i == 0 or (d.month == 4 and i - last_label >= 4)):  # no label overlaps the one before
            out.append(f'<text class="tick" x="{i * cell}" y="{H - 1}">{d:%b %y}</text>')
            last_label = i
    return Markup(
        f'<svg class="status-strip" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{''.join(out)}</svg>"
    )


def bar_strip(rows: Sequence[dict], months: Sequence[Any], *, label: str) -> Markup:
    """Quarantined rows per month of data (one bar per month; empty months have no bar)."""
    W, H = 760, 90
    left, right, top, bottom = 52, 10, 8, 22
    n = max(len(months), 1)
    step = (W - left - right) / n
    pos = {m: i for i, m in enumerate(months)}
    top_value = max([as_float(r.get("rows")) or 0 for r in rows] + [1])
    y = Linear(0, top_value, H - bottom, top)
    out = [f'<line class="axis" x1="{left}" x2="{W - right}" y1="{H - bottom}" y2="{H - bottom}"/>']
    for t in [t for t in nice_ticks(0, top_value, 2) if float(t).is_integer()]:
        out.append(f'<line class="grid" x1="{left}" x2="{W - right}" y1="{_f(y(t))}" y2="{_f(y(t))}"/>')
        out.append(f'<text class="tick" x="{left - 4}" y="{_f(y(t) + 3)}" text-anchor="end">{t:,.0f}</text>')
    for m in months:
        d = as_date(m)
        if d and d.month == 4:
            i = pos[m]
            out.append(f'<text class="tick" x="{_f(left + step * i)}" y="{H - 6}">{d:%b %Y}</text>')
    for r in rows:
        i = pos.get(r.get("month"))
        v = as_float(r.get("rows")) or 0
        if i is None or v <= 0:
            continue
        yy = y(v)
        out.append(
            f'<g class="bar" data-month="{month_key(r.get("month"))}" data-value="{int(v)}">'
            f"<title>{month_label(r.get('month'))}: {int(v):,} rows quarantined</title>"
            f'<rect x="{_f(left + step * i + 1)}" y="{_f(yy)}" width="{_f(max(step - 2, 1))}" height="{_f(H - bottom - yy)}"/></g>'
        )
    return Markup(
        f'<svg class="bar-strip" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{''.join(out)}</svg>"
    )


__all__ = [
    "GREY",
    "RED",
    "bar_strip",
    "legend_marker",
    "nice_ticks",
    "point_shape",
    "small_multiple",
    "sparkline",
    "spc_chart",
    "spc_legend",
    "status_strip",
]
