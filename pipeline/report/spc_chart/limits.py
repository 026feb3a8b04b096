"""The SPC chart's horizontal lines: the rebased chart's mean and limits (one segment per group),
the baseline's carried on past go-live, the ITS counterfactual with its interval, and the target."""

from __future__ import annotations

from markupsafe import escape

from pipeline.report.chart_scales import coord
from pipeline.report.format import is_missing, month_label
from pipeline.report.spc_chart.scales import LEFT, RIGHT, W, SpcFrame, num


def rebased_groups(frame: SpcFrame) -> dict[int, list[int]]:
    """Row indexes by rebased group, in order; months before the baseline belong to none."""
    groups: dict[int, list[int]] = {}
    for i, r in enumerate(frame.rows):
        g = r.get("rebased_group")
        if not is_missing(g) and r.get("segment") != "pre_baseline":
            groups.setdefault(int(g), []).append(i)
    return groups


def rebased_limits(frame: SpcFrame, groups: dict[int, list[int]]) -> list[str]:
    fmt, y, months = frame.fmt, frame.y, frame.months
    out: list[str] = []
    for g, idx in groups.items():
        r0 = frame.rows[idx[0]]
        x0, x1 = frame.x_edge(idx[0]) + 2, frame.x_edge(idx[-1] + 1) - 2
        for key, cls in (("rebased_mean", "mean"), ("rebased_upl", "upl"), ("rebased_lpl", "lpl")):
            v = num(r0, key)
            if v is None:
                continue
            out.append(
                f'<path class="limit {cls}" data-group="{g}" data-value="{v!r}" d="M{coord(x0)} {coord(y(v))}H{coord(x1)}">'
                f"<title>{escape(cls.upper() if cls != 'mean' else 'Mean')} {escape(fmt(v))} "
                f"({month_label(months[idx[0]])} to {month_label(months[idx[-1]])})</title></path>"
            )
    return out


def baseline_extended(frame: SpcFrame) -> list[str]:
    """The baseline mean and limits carried on past go-live: the evidence chart's limits."""
    go_live = frame.go_live
    if not go_live:
        return []
    after = [i for i, m in enumerate(frame.months) if m and m >= go_live]
    if not after:
        return []
    r0 = frame.rows[after[0]]
    x0, x1 = frame.x_edge(after[0]) + 2, frame.x_edge(after[-1] + 1) - 2
    out: list[str] = []
    for key in ("mean", "upl", "lpl"):
        v = num(r0, key)
        if v is None:
            continue
        out.append(
            f'<path class="limit baseline-extended" data-line="{key}" d="M{coord(x0)} {coord(frame.y(v))}H{coord(x1)}">'
            f"<title>Baseline {escape(key.upper() if key != 'mean' else 'mean')} {escape(frame.fmt(v))}, extended</title></path>"
        )
    return out


def counterfactual(frame: SpcFrame) -> list[str]:
    """The ITS counterfactual since go-live, with its 95% CI."""
    x_of, y = frame.x, frame.y
    cf = [
        (i, num(r, "its_counterfactual"), num(r, "its_counterfactual_low"), num(r, "its_counterfactual_high"))
        for i, r in enumerate(frame.rows)
    ]
    cf = [c for c in cf if c[1] is not None]
    if not cf:
        return []
    out: list[str] = []
    band_pts = [c for c in cf if c[2] is not None and c[3] is not None]
    if len(band_pts) > 1:
        upper = " ".join(f"{coord(x_of[i])},{coord(y(h))}" for i, _, _, h in band_pts)
        lower = " ".join(f"{coord(x_of[i])},{coord(y(lw))}" for i, _, lw, _ in reversed(band_pts))
        out.append(f'<polygon class="counterfactual-ci" points="{upper} {lower}"/>')
    path = " ".join(f"{coord(x_of[i])},{coord(y(v))}" for i, v, _, _ in cf)
    out.append(
        f'<polyline class="counterfactual" points="{path}"><title>Expected without the change (ITS counterfactual)</title></polyline>'
    )
    return out


def target_line(frame: SpcFrame) -> list[str]:
    target = frame.target
    if target is None:
        return []
    return [
        f'<path class="target" data-value="{target!r}" d="M{LEFT} {coord(frame.y(target))}H{W - RIGHT}">'
        f"<title>Target {escape(frame.fmt(target))}</title></path>"
    ]
