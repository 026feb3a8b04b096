"""What the SPC chart says around its data: the baseline and ramp-in bands, the grid and axes, the
go-live marker, the end labels of the latest process and the target, and the chart's description."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from markupsafe import escape

from pipeline.report.chart_scales import coord, nice_ticks
from pipeline.report.format import as_date, as_float, month_label
from pipeline.report.spc_chart.scales import BOTTOM, H, LEFT, PLOT_HEIGHT, RIGHT, TOP, W, SpcFrame, num

END_LABEL_GAP = 12


def bands(frame: SpcFrame, benefit: dict) -> list[str]:
    """The baseline period and the ramp-in, shaded behind everything else."""
    out: list[str] = []
    b_start, b_end = as_date(benefit.get("baseline_start")), as_date(benefit.get("baseline_end"))
    if b_start and b_end:
        out += _band(frame, b_start, b_end, "baseline", "baseline")
    go_live = frame.go_live
    ramp = int(as_float(benefit.get("ramp_months")) or 0)
    if go_live and ramp > 0:
        ramp_end = (pd.Timestamp(go_live) + pd.DateOffset(months=ramp - 1)).date()
        out += _band(frame, go_live, ramp_end, "ramp", "ramp-in")
    return out


def _band(frame: SpcFrame, start: dt.date, end: dt.date, cls: str, label: str) -> list[str]:
    idx = [i for i, m in enumerate(frame.months) if m and start <= m <= end]
    if not idx:
        return []
    x0, x1 = frame.x_edge(idx[0]), frame.x_edge(idx[-1] + 1)
    return [
        f'<rect class="band {cls}" x="{coord(x0)}" y="{TOP}" width="{coord(x1 - x0)}" height="{PLOT_HEIGHT}"/>',
        f'<text class="band-label" x="{coord((x0 + x1) / 2)}" y="{TOP - 6}" text-anchor="middle">{escape(label)}</text>',
    ]


def grid_and_axes(frame: SpcFrame) -> list[str]:
    return _y_grid(frame) + [
        f'<line class="axis" x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}"/>'
    ] + _x_ticks(frame)


def _y_grid(frame: SpcFrame) -> list[str]:
    lo, hi = frame.lo, frame.hi
    ticks = nice_ticks(lo, hi)
    tick_step = ticks[1] - ticks[0] if len(ticks) > 1 else (hi - lo)
    out: list[str] = []
    for t in ticks:
        yy = frame.y(t)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{W - RIGHT}" y1="{coord(yy)}" y2="{coord(yy)}"/>')
        out.append(
            f'<text class="tick" x="{LEFT - 6}" y="{coord(yy + 3.5)}" text-anchor="end">{escape(frame.fmt.axis(t, tick_step))}</text>'
        )
    return out


def _x_ticks(frame: SpcFrame) -> list[str]:
    """A tick each quarter, longer and labelled at April; every quarter labelled on a short chart."""
    out: list[str] = []
    for i, m in enumerate(frame.months):
        if m is None or m.month not in (1, 4, 7, 10):
            continue
        major = m.month == 4
        x = frame.x[i]
        out.append(
            f'<line class="xtick" x1="{coord(x)}" x2="{coord(x)}" y1="{H - BOTTOM}" y2="{H - BOTTOM + (6 if major else 3)}"/>'
        )
        if major or frame.n <= 18:
            out.append(f'<text class="tick" x="{coord(x)}" y="{H - BOTTOM + 18}" text-anchor="middle">{m:%b %Y}</text>')
    return out


def go_live_marker(frame: SpcFrame) -> list[str]:
    """Go-live: the chart is rebased here."""
    go_live = frame.go_live
    if not (go_live and go_live in frame.index):
        return []
    gx = frame.x_edge(frame.index[go_live])
    return [
        f'<line class="go-live" x1="{coord(gx)}" x2="{coord(gx)}" y1="{TOP - 2}" y2="{H - BOTTOM}"/>',
        f'<text class="go-live-label" x="{coord(gx + 4)}" y="{TOP + 13}">go-live {go_live:%b %Y}</text>'
        f'<text class="go-live-label sub" x="{coord(gx + 4)}" y="{TOP + 25}">limits rebased</text>',
    ]


def end_labels(frame: SpcFrame, groups: dict[int, list[int]]) -> list[str]:
    """Labels for the latest process and the target in the right margin, nudged apart."""
    lo, hi, fmt = frame.lo, frame.hi, frame.fmt
    labels: list[tuple[float, str, str]] = []
    if groups:
        r0 = frame.rows[list(groups.values())[-1][0]]
        for key, name in (("rebased_upl", "UPL"), ("rebased_mean", "Mean"), ("rebased_lpl", "LPL")):
            v = num(r0, key)
            if v is not None and lo <= v <= hi:
                labels.append((frame.y(v), f"{name} {fmt(v)}", "end-label"))
    target = frame.target
    if target is not None and lo <= target <= hi:
        labels.append((frame.y(target), f"Target {fmt(target)}", "end-label target-label"))
    labels.sort()
    out: list[str] = []
    placed: list[float] = []
    for yy, text, cls in labels:
        if placed and yy - placed[-1] < END_LABEL_GAP:
            yy = placed[-1] + END_LABEL_GAP
        placed.append(yy)
        out.append(f'<text class="{cls}" x="{W - RIGHT + 6}" y="{coord(yy + 3.5)}">{escape(text)}</text>')
    return out


def description(frame: SpcFrame) -> str:
    n, months, values = frame.n, frame.months, frame.values
    latest = next((i for i in range(n - 1, -1, -1) if values[i] is not None), None)
    desc = f"{n} months from {month_label(months[0]) if n else '–'} to {month_label(months[-1]) if n else '–'}"
    if latest is not None:
        desc += f"; latest {frame.fmt(values[latest])} in {month_label(months[latest])}"
    return desc
