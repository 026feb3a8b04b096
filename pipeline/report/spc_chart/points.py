"""The SPC chart's data: the value line (broken where a month has no value) and one mark per month,
shaped and coloured by its point type, with a tooltip saying why."""

from __future__ import annotations

from markupsafe import escape

from pipeline.report.chart_scales import coord
from pipeline.report.format import is_missing, month_key, month_label, words
from pipeline.report.spc_chart.marks import POINT_WORDS, point_shape
from pipeline.report.spc_chart.scales import BOTTOM, H, SpcFrame, flag


def value_line(frame: SpcFrame) -> list[str]:
    segs, cur = [], []
    for i, v in enumerate(frame.values):
        if v is None:
            if len(cur) > 1:
                segs.append(cur)
            cur = []
        else:
            cur.append(f"{coord(frame.x[i])},{coord(frame.y(v))}")
    if len(cur) > 1:
        segs.append(cur)
    return [f'<polyline class="value-line" points="{" ".join(s)}"/>' for s in segs]


def point_marks(frame: SpcFrame) -> list[str]:
    """A month with a value gets its point; a suppressed month without one an `S` on the axis."""
    pts: list[str] = []
    for i, r in enumerate(frame.rows):
        v = frame.values[i]
        if flag(r.get("suppressed")) and v is None:
            pts.append(_suppressed(frame, i))
        elif v is not None:
            pts.append(_point(frame, i, v))
    return pts


def _suppressed(frame: SpcFrame, i: int) -> str:
    m = frame.months[i]
    return (
        f'<g class="pt suppressed" data-month="{month_key(m)}" data-suppressed="true">'
        f"<title>{month_label(m)}: suppressed (small count)</title>"
        f'<text x="{coord(frame.x[i])}" y="{H - BOTTOM - 4}" text-anchor="middle" class="supp-mark">S</text></g>'
    )


def _point(frame: SpcFrame, i: int, v: float) -> str:
    r, m, x, yv = frame.rows[i], frame.months[i], frame.x[i], frame.y(v)
    ptype = r.get("point_type") if not is_missing(r.get("point_type")) else "common_cause"
    rtype = r.get("rebased_point_type")
    provisional = flag(r.get("provisional"))
    tip = _tooltip(r, f"{month_label(m)}: {frame.fmt(v)}", ptype, rtype, provisional)
    ring = f'<circle class="provisional-ring" cx="{coord(x)}" cy="{coord(yv)}" r="7"/>' if provisional else ""
    return (
        f'<g class="pt{" provisional" if provisional else ""}" data-month="{month_key(m)}" data-value="{v!r}" '
        f'data-point-type="{escape(ptype)}" data-provisional="{str(provisional).lower()}" '
        f'data-rebased-point-type="{escape("" if is_missing(rtype) else rtype)}">'
        f"<title>{escape(' · '.join(tip))}</title>{point_shape(ptype, x, yv)}{ring}</g>"
    )


def _tooltip(r: dict, headline: str, ptype: str, rtype, provisional: bool) -> list[str]:
    tip = [headline, POINT_WORDS.get(ptype, words(ptype)) + " against the baseline"]
    if not is_missing(r.get("signal")):
        tip.append(str(r["signal"]))
    if not is_missing(rtype) and rtype != ptype:
        tip.append(f"{POINT_WORDS.get(rtype, words(rtype))} on the rebased chart")
    if not is_missing(r.get("segment")):
        tip.append(words(r["segment"]))
    if provisional:
        tip.append("provisional: the month is not complete yet, so no estimate uses it")
    return tip
