"""A benefit's SPC chart as inline SVG, in the Making Data Count style: the layers of
`annotations`, `limits` and `points` drawn on one `scales.SpcFrame`."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup, escape

from pipeline.report.format import UnitFormat
from pipeline.report.spc_chart.annotations import bands, description, end_labels, go_live_marker, grid_and_axes
from pipeline.report.spc_chart.limits import baseline_extended, counterfactual, rebased_groups, rebased_limits, target_line
from pipeline.report.spc_chart.points import point_marks, value_line
from pipeline.report.spc_chart.scales import H, LEFT, PLOT_HEIGHT, PLOT_WIDTH, TOP, W, spc_frame


def spc_chart(points: pd.DataFrame, benefit: dict, fmt: UnitFormat, *, chart_id: str, title: str) -> Markup:
    """A benefit's SPC chart in the Making Data Count style.

    Points are coloured (and shaped) by their point type against the baseline limits, the
    evidence of change that drives the variation icon and the status. Limits step where the
    chart is rebased (baseline start, go-live, end of ramp-in): after go-live they describe
    the new process, which the assurance icon compares with the target; the baseline mean and
    limits carry on faintly after go-live so the evidence can be read against them.
    """
    frame = spc_frame(points, benefit, fmt)
    groups = rebased_groups(frame)
    clip = f"{chart_id}-clip"
    # Lines are clipped to the plot; points and labels are not.
    clipped = rebased_limits(frame, groups) + baseline_extended(frame) + counterfactual(frame)
    clipped += target_line(frame) + value_line(frame)
    out = [
        f'<clipPath id="{clip}"><rect x="{LEFT}" y="{TOP}" width="{PLOT_WIDTH}" height="{PLOT_HEIGHT}"/></clipPath>',
        *bands(frame, benefit),
        *grid_and_axes(frame),
        *go_live_marker(frame),
        f'<g clip-path="url(#{clip})">' + "".join(clipped) + "</g>",
        '<g class="points">' + "".join(point_marks(frame)) + "</g>",
        *end_labels(frame, groups),
    ]
    direction = str(benefit.get("improvement_direction") or "neutral")
    return Markup(
        f'<svg class="spc-chart" id="{chart_id}" data-points="{sum(v is not None for v in frame.values)}" '
        f'data-direction="{escape(direction)}" viewBox="0 0 {W} {H}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description(frame))}</desc>'
        + "".join(out)
        + "</svg>"
    )
