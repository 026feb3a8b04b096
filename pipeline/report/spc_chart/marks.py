"""The marks of a Making Data Count chart: a point's shape and colour by point type, and the
legend that names them."""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup, escape

from pipeline.report.chart_scales import coord
from pipeline.report.icons import GREY, POINT_COLOURS


def point_shape(point_type: str | None, x: float, y: float, size: float = 1.0) -> str:
    """The marker of an SPC point: shape AND colour differ by point type."""
    colour = POINT_COLOURS.get(point_type or "", GREY)
    if point_type == "special_cause_improvement":
        s = 4.2 * size
        return f'<rect x="{coord(x - s)}" y="{coord(y - s)}" width="{coord(2 * s)}" height="{coord(2 * s)}" fill="{colour}"/>'
    if point_type == "special_cause_concern":
        s = 5.6 * size
        return (
            f'<path d="M{coord(x)} {coord(y - s)}L{coord(x + s)} {coord(y)}L{coord(x)} {coord(y + s)}L{coord(x - s)} {coord(y)}Z" '
            f'fill="{colour}"/>'
        )
    if point_type in ("special_cause_neutral_high", "special_cause_neutral_low"):
        s = 5.4 * size
        up = point_type.endswith("high")
        tip, base = (y - s, y + s * 0.7) if up else (y + s, y - s * 0.7)
        return f'<path d="M{coord(x)} {coord(tip)}L{coord(x + s)} {coord(base)}L{coord(x - s)} {coord(base)}Z" fill="{colour}"/>'
    return f'<circle cx="{coord(x)}" cy="{coord(y)}" r="{coord(3.4 * size)}" fill="{colour}"/>'


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
