"""A benefit's SPC chart as inline SVG, in the Making Data Count style."""

from __future__ import annotations

from typing import Any

import pandas as pd
from markupsafe import Markup, escape

from pipeline.report.chart_scales import Linear, coord, nice_ticks, value_domain
from pipeline.report.format import UnitFormat, as_date, as_float, is_missing, month_key, month_label, words
from pipeline.report.spc_chart.marks import POINT_WORDS, point_shape


def num(row: dict, key: str) -> float | None:
    return as_float(row.get(key))


def flag(v: Any) -> bool:
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
    target = num(benefit, "target_value")
    go_live = as_date(benefit.get("go_live_month"))
    ramp = int(as_float(benefit.get("ramp_months")) or 0)
    b_start, b_end = as_date(benefit.get("baseline_start")), as_date(benefit.get("baseline_end"))

    values = [num(r, "value") for r in rows]
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
    lo, hi = value_domain(
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
            f'<rect class="band {cls}" x="{coord(x0)}" y="{top}" width="{coord(x1 - x0)}" height="{H - top - bottom}"/>'
        )
        out.append(
            f'<text class="band-label" x="{coord((x0 + x1) / 2)}" y="{top - 6}" text-anchor="middle">{escape(label)}</text>'
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
        out.append(f'<line class="grid" x1="{left}" x2="{W - right}" y1="{coord(yy)}" y2="{coord(yy)}"/>')
        out.append(
            f'<text class="tick" x="{left - 6}" y="{coord(yy + 3.5)}" text-anchor="end">{escape(fmt.axis(t, tick_step))}</text>'
        )
    out.append(f'<line class="axis" x1="{left}" x2="{W - right}" y1="{H - bottom}" y2="{H - bottom}"/>')
    for i, m in enumerate(months):
        if m is None:
            continue
        if m.month in (1, 4, 7, 10):
            major = m.month == 4
            out.append(
                f'<line class="xtick" x1="{coord(x_of[i])}" x2="{coord(x_of[i])}" y1="{H - bottom}" y2="{H - bottom + (6 if major else 3)}"/>'
            )
            if major or n <= 18:
                out.append(
                    f'<text class="tick" x="{coord(x_of[i])}" y="{H - bottom + 18}" text-anchor="middle">{m:%b %Y}</text>'
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
            v = num(r0, key)
            if v is None:
                continue
            body.append(
                f'<path class="limit {cls}" data-group="{g}" data-value="{v!r}" d="M{coord(x0)} {coord(y(v))}H{coord(x1)}">'
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
                v = num(r0, key)
                if v is None:
                    continue
                body.append(
                    f'<path class="limit baseline-extended" data-line="{key}" d="M{coord(x0)} {coord(y(v))}H{coord(x1)}">'
                    f"<title>Baseline {escape(key.upper() if key != 'mean' else 'mean')} {escape(fmt(v))}, extended</title></path>"
                )

    # ITS counterfactual since go-live, with its 95% CI.
    cf = [
        (i, num(r, "its_counterfactual"), num(r, "its_counterfactual_low"), num(r, "its_counterfactual_high"))
        for i, r in enumerate(rows)
    ]
    cf = [c for c in cf if c[1] is not None]
    if cf:
        band_pts = [c for c in cf if c[2] is not None and c[3] is not None]
        if len(band_pts) > 1:
            upper = " ".join(f"{coord(x_of[i])},{coord(y(h))}" for i, _, _, h in band_pts)
            lower = " ".join(f"{coord(x_of[i])},{coord(y(lw))}" for i, _, lw, _ in reversed(band_pts))
            body.append(f'<polygon class="counterfactual-ci" points="{upper} {lower}"/>')
        path = " ".join(f"{coord(x_of[i])},{coord(y(v))}" for i, v, _, _ in cf)
        body.append(
            f'<polyline class="counterfactual" points="{path}"><title>Expected without the change (ITS counterfactual)</title></polyline>'
        )

    if target is not None:
        body.append(
            f'<path class="target" data-value="{target!r}" d="M{left} {coord(y(target))}H{W - right}">'
            f"<title>Target {escape(fmt(target))}</title></path>"
        )

    # Go-live: the chart is rebased here.
    if go_live and go_live in index:
        gx = x_edge(index[go_live])
        out.append(f'<line class="go-live" x1="{coord(gx)}" x2="{coord(gx)}" y1="{top - 2}" y2="{H - bottom}"/>')
        out.append(
            f'<text class="go-live-label" x="{coord(gx + 4)}" y="{top + 13}">go-live {go_live:%b %Y}</text>'
            f'<text class="go-live-label sub" x="{coord(gx + 4)}" y="{top + 25}">limits rebased</text>'
        )

    # The value line, then the points.
    segs, cur = [], []
    for i, v in enumerate(values):
        if v is None:
            if len(cur) > 1:
                segs.append(cur)
            cur = []
        else:
            cur.append(f"{coord(x_of[i])},{coord(y(v))}")
    if len(cur) > 1:
        segs.append(cur)
    for s in segs:
        body.append(f'<polyline class="value-line" points="{" ".join(s)}"/>')

    pts: list[str] = []
    for i, r in enumerate(rows):
        v = values[i]
        m = months[i]
        if flag(r.get("suppressed")) and v is None:
            pts.append(
                f'<g class="pt suppressed" data-month="{month_key(m)}" data-suppressed="true">'
                f"<title>{month_label(m)}: suppressed (small count)</title>"
                f'<text x="{coord(x_of[i])}" y="{H - bottom - 4}" text-anchor="middle" class="supp-mark">S</text></g>'
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
        provisional = flag(r.get("provisional"))
        if provisional:
            tip.append("provisional: the month is not complete yet, so no estimate uses it")
        ring = (
            f'<circle class="provisional-ring" cx="{coord(x_of[i])}" cy="{coord(y(v))}" r="7"/>' if provisional else ""
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
            v = num(r0, key)
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
        out.append(f'<text class="{cls}" x="{W - right + 6}" y="{coord(yy + 3.5)}">{escape(text)}</text>')

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
