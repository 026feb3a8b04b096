"""Charts as inline SVG, rendered here in Python: print-perfect, no script needed to see them, and
testable through the DOM (every point is an element with data attributes and a <title> for hover).
A benefit's SPC chart is in `pipeline.report.spc_chart`.

* `small_multiple`: one site's national measure by quarter, with its financial-year values.
* `sparkline`: a region's measure by quarter, for the index.
* `status_strip`: a benefit's status month by month since go-live.
* `bar_strip`: quarantined rows per month of data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from pipeline.report.chart_scales import Linear, coord, nice_ticks, value_domain
from pipeline.report.format import UnitFormat, as_date, as_float, month_key, month_label
from pipeline.report.icons import status_colour, status_letter, status_words

INK = "#212b32"
MUTED = "#4c6272"
GRID = "#e8edee"
LIMIT = "#5f6368"


SM_W, SM_H = 280, 150
SM_LEFT, SM_RIGHT, SM_TOP, SM_BOTTOM = 44, 8, 10, 26


@dataclass
class _SmallFrame:
    """A small multiple's scales: a column per period, `x[i]` its centre, `edge(i)` its left edge."""

    periods: Sequence[Any]
    y: Linear
    step: float = field(init=False)
    x: list[float] = field(init=False)
    pos: dict[Any, int] = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.periods)
        self.step = (SM_W - SM_LEFT - SM_RIGHT) / max(n, 1)
        self.pos = {p: i for i, p in enumerate(self.periods)}
        self.x = [SM_LEFT + self.step * (i + 0.5) for i in range(n)]

    def edge(self, i: int) -> float:
        return SM_LEFT + self.step * i


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
    lo, hi = domain
    frame = _SmallFrame(periods, Linear(lo, hi, SM_H - SM_BOTTOM, SM_TOP))
    out = _small_axes(frame, fmt, lo, hi)
    for fy in years:
        out.extend(_year_step(frame, fy, fmt))
    segs, pts = _quarter_marks(frame, quarters, fmt)
    for s in segs:
        out.append(f'<polyline class="value-line" points="{" ".join(s)}"/>')
    out.extend(pts)
    return Markup(
        f'<svg class="small-multiple" id="{chart_id}" viewBox="0 0 {SM_W} {SM_H}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>" + "".join(out) + "</svg>"
    )


def _small_axes(frame: _SmallFrame, fmt: UnitFormat, lo: float, hi: float) -> list[str]:
    """The value grid, the axis, and a separator labelled with the financial year at each April."""
    y, left, right, top, bottom = frame.y, SM_LEFT, SM_RIGHT, SM_TOP, SM_BOTTOM
    W, H = SM_W, SM_H
    out: list[str] = []
    ticks = nice_ticks(lo, hi, 3)
    tick_step = ticks[1] - ticks[0] if len(ticks) > 1 else (hi - lo)
    for t in ticks:
        out.append(f'<line class="grid" x1="{left}" x2="{W - right}" y1="{coord(y(t))}" y2="{coord(y(t))}"/>')
        out.append(
            f'<text class="tick" x="{left - 4}" y="{coord(y(t) + 3)}" text-anchor="end">{escape(fmt.axis(t, tick_step))}</text>'
        )
    out.append(f'<line class="axis" x1="{left}" x2="{W - right}" y1="{H - bottom}" y2="{H - bottom}"/>')
    for i, p in enumerate(frame.periods):
        d = as_date(p)
        if d and d.month == 4:
            out.append(
                f'<line class="fy-sep" x1="{coord(frame.edge(i))}" x2="{coord(frame.edge(i))}" y1="{top}" y2="{H - bottom + 4}"/>'
            )
            out.append(
                f'<text class="tick" x="{coord(frame.edge(i) + 2)}" y="{H - bottom + 14}">{d.year}/{(d.year + 1) % 100:02d}</text>'
            )
    return out


def _year_step(frame: _SmallFrame, fy: dict, fmt: UnitFormat) -> list[str]:
    """A financial year's value as a step across its quarters, or `FY suppressed` above them."""
    start = as_date(fy.get("start"))
    idx = [
        frame.pos[p]
        for p in frame.periods
        if start and as_date(p) and start <= as_date(p) < start.replace(year=start.year + 1)
    ]
    if not idx:
        return []
    x0, x1 = frame.edge(min(idx)) + 1, frame.edge(max(idx) + 1) - 1
    label = escape(fy.get("label", ""))
    if fy.get("suppressed"):
        return [
            f'<g class="fy-suppressed" data-period="{label}" data-suppressed="true">'
            f"<title>{label}: suppressed</title>"
            f'<text class="supp-mark" x="{coord((x0 + x1) / 2)}" y="{SM_TOP + 9}" text-anchor="middle">FY suppressed</text></g>'
        ]
    v = as_float(fy.get("value"))
    if v is None:
        return []
    return [
        f'<path class="fy" data-period="{label}" data-value="{v!r}" '
        f'd="M{coord(x0)} {coord(frame.y(v))}H{coord(x1)}"><title>{label}: {escape(fmt(v))}</title></path>'
    ]


def _quarter_marks(frame: _SmallFrame, quarters: Sequence[dict], fmt: UnitFormat) -> tuple[list[list[str]], list[str]]:
    """The quarters' line segments (broken at a suppressed or empty quarter) and their marks."""
    x, y = frame.x, frame.y
    line, segs = [], []
    pts = []
    for q in quarters:
        p = q.get("start")
        i = frame.pos.get(p)
        if i is None:
            continue
        label = q.get("label", month_label(p))
        v = None if q.get("suppressed") else as_float(q.get("value"))
        if v is None:
            if len(line) > 1:
                segs.append(line)
            line = []
        if q.get("suppressed"):
            pts.append(
                f'<g class="q suppressed" data-period="{escape(label)}" data-suppressed="true">'
                f"<title>{escape(label)}: suppressed (small numbers)</title>"
                f'<text class="supp-mark" x="{coord(x[i])}" y="{SM_H - SM_BOTTOM - 3}" text-anchor="middle">S</text></g>'
            )
        if v is None:
            continue
        line.append(f"{coord(x[i])},{coord(y(v))}")
        pts.append(
            f'<g class="q" data-period="{escape(label)}" data-value="{v!r}"><title>{escape(label)}: {escape(fmt(v))}</title>'
            f'<circle cx="{coord(x[i])}" cy="{coord(y(v))}" r="2.6"/></g>'
        )
    if len(line) > 1:
        segs.append(line)
    return segs, pts


def sparkline(quarters: Sequence[dict], fmt: UnitFormat, periods: Sequence[Any], *, label: str) -> Markup:
    W, H, pad = 112, 34, 4
    vals = [as_float(q.get("value")) for q in quarters if not q.get("suppressed")]
    lo, hi = value_domain(vals, nonnegative=False, at_most_one=False, pad=0.1)
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
                f'<text class="supp-mark" x="{coord(xx)}" y="{H - 1}" text-anchor="middle">S</text></g>'
            )
            continue
        v = as_float(q.get("value"))
        if v is None:
            if len(line) > 1:
                segs.append(line)
            line = []
            continue
        line.append(f"{coord(xx)},{coord(y(v))}")
        marks.append(
            f'<g class="q" data-value="{v!r}"><title>{escape(q.get("label", ""))}: {escape(fmt(v))}</title>'
            f'<circle cx="{coord(xx)}" cy="{coord(y(v))}" r="1.8"/></g>'
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
        out.append(f'<line class="grid" x1="{left}" x2="{W - right}" y1="{coord(y(t))}" y2="{coord(y(t))}"/>')
        out.append(f'<text class="tick" x="{left - 4}" y="{coord(y(t) + 3)}" text-anchor="end">{t:,.0f}</text>')
    for m in months:
        d = as_date(m)
        if d and d.month == 4:
            i = pos[m]
            out.append(f'<text class="tick" x="{coord(left + step * i)}" y="{H - 6}">{d:%b %Y}</text>')
    for r in rows:
        i = pos.get(r.get("month"))
        v = as_float(r.get("rows")) or 0
        if i is None or v <= 0:
            continue
        yy = y(v)
        out.append(
            f'<g class="bar" data-month="{month_key(r.get("month"))}" data-value="{int(v)}">'
            f"<title>{month_label(r.get('month'))}: {int(v):,} rows quarantined</title>"
            f'<rect x="{coord(left + step * i + 1)}" y="{coord(yy)}" width="{coord(max(step - 2, 1))}" height="{coord(H - bottom - yy)}"/></g>'
        )
    return Markup(
        f'<svg class="bar-strip" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{''.join(out)}</svg>"
    )


__all__ = [
    "bar_strip",
    "small_multiple",
    "sparkline",
    "status_strip",
]
