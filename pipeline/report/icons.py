"""Our own Making Data Count style icons (variation, assurance) and status badges, as inline SVG.

Drawn here from simple shapes, not copied from NHS England's image files. Colour is never the
only carrier: every icon has a letter or shape that differs by meaning, an SVG <title>, and is
always printed next to its words (docs/reports.md has the mapping).
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

# Colours: the Making Data Count families (grey common cause, blue improvement, orange concern,
# purple neutral), darkened where needed for at least 3:1 contrast on white (WCAG 1.4.11).
GREY = "#5f6368"
BLUE = "#1d70b8"
ORANGE = "#b85c00"
PURPLE = "#4c2c92"
RED = "#c42b1c"

POINT_COLOURS = {
    "common_cause": GREY,
    "special_cause_improvement": BLUE,
    "special_cause_concern": ORANGE,
    "special_cause_neutral_high": PURPLE,
    "special_cause_neutral_low": PURPLE,
}


@dataclass(frozen=True)
class IconInfo:
    kind: str  # the mart code the icon stands for
    label: str  # the words printed beside it
    colour: str
    letter: str


def variation_info(variation: str | None, direction: str | None) -> IconInfo:
    """The variation icon of a series: its latest point type; high or low from the direction."""
    direction = (direction or "neutral").lower()
    if variation == "common_cause":
        return IconInfo("common_cause", "Common cause variation", GREY, "")
    if variation == "special_cause_improvement":
        high = direction == "higher"
        return IconInfo(
            variation, f"Special cause improvement ({'higher' if high else 'lower'} values)", BLUE, "H" if high else "L"
        )
    if variation == "special_cause_concern":
        high = direction == "lower"  # a concern on a lower-is-better measure is a high value
        return IconInfo(
            variation, f"Special cause concern ({'higher' if high else 'lower'} values)", ORANGE, "H" if high else "L"
        )
    if variation == "special_cause_neutral_high":
        return IconInfo(variation, "Special cause variation, higher values (no improvement direction)", PURPLE, "H")
    if variation == "special_cause_neutral_low":
        return IconInfo(variation, "Special cause variation, lower values (no improvement direction)", PURPLE, "L")
    return IconInfo("none", "No variation assessed (too little data)", GREY, "?")


def assurance_info(assurance: str | None) -> IconInfo:
    if assurance == "consistent_pass":
        return IconInfo(assurance, "Consistently passing the target", BLUE, "P")
    if assurance == "consistent_fail":
        return IconInfo(assurance, "Consistently failing the target", ORANGE, "F")
    if assurance == "inconsistent":
        return IconInfo(assurance, "Hit and miss: the target lies within the process limits", GREY, "?")
    return IconInfo("none", "No assurance (no target set)", GREY, "–")


def _svg(kind: str, info: IconInfo, body: str, size: int) -> Markup:
    return Markup(
        f'<svg class="mdc-icon" data-icon="{kind}" data-kind="{escape(info.kind)}" role="img" '
        f'aria-label="{escape(info.label)}" width="{size}" height="{size}" viewBox="0 0 40 40">'
        f"<title>{escape(info.label)}</title>"
        f'<circle cx="20" cy="20" r="17.5" fill="#fff" stroke="{info.colour}" stroke-width="3"/>{body}</svg>'
    )


def variation_icon(variation: str | None, direction: str | None, size: int = 40) -> Markup:
    info = variation_info(variation, direction)
    # A run of five dots: level (common cause), rising at the end (high) or falling (low).
    if info.letter == "H":
        ys, special = (24, 25, 22, 17, 14), (2, 3, 4)
        letter_y = 36 - 22
    elif info.letter == "L":
        ys, special = (16, 15, 18, 23, 26), (2, 3, 4)
        letter_y = 14 + 22
    else:
        ys, special = (20, 23, 18, 22, 19), ()
        letter_y = 0
    dots = []
    for i, y in enumerate(ys):
        x = 9 + i * 5.5
        colour = info.colour if i in special else GREY
        dots.append(f'<circle cx="{x:.1f}" cy="{y}" r="2.4" fill="{colour}"/>')
    path = " ".join(f"{9 + i * 5.5:.1f},{y}" for i, y in enumerate(ys))
    body = f'<polyline points="{path}" fill="none" stroke="{GREY}" stroke-width="1"/>' + "".join(dots)
    if info.letter in ("H", "L"):
        body += (
            f'<text x="20" y="{letter_y - 3 if info.letter == "H" else letter_y - 5}" text-anchor="middle" '
            f'font-size="9" font-weight="700" fill="{info.colour}">{info.letter}</text>'
        )
    elif info.letter == "?":
        body = f'<text x="20" y="26" text-anchor="middle" font-size="16" font-weight="700" fill="{GREY}">?</text>'
    return _svg("variation", info, body, size)


def assurance_icon(assurance: str | None, size: int = 40) -> Markup:
    info = assurance_info(assurance)
    # The target as a dashed line across, the verdict as a letter.
    body = (
        f'<line x1="6" y1="28" x2="34" y2="28" stroke="{RED}" stroke-width="1.5" stroke-dasharray="3 2"/>'
        f'<text x="20" y="24" text-anchor="middle" font-size="17" font-weight="700" fill="{info.colour}">'
        f"{escape(info.letter)}</text>"
    )
    return _svg("assurance", info, body, size)


STATUS = {
    # status -> (words, colour, glyph path in a 16x16 box)
    "realised": ("Realised", "#007f3b", "M3 8.5l3.2 3.2L13 4.8"),
    "emerging": ("Emerging", "#005eb8", "M3 12L8 7l2.5 2.5L13 4M9.5 4H13v3.5"),
    "target_met_unattributed": ("Target met, not attributed", "#6b4c9a", "M3 5h10M3 11h10"),
    "not_yet_evident": ("Not yet evident", "#4c6272", "M3 8h10"),
    "disbenefit": ("Disbenefit", "#c42b1c", "M4 4l8 8M12 4l-8 8"),
    "insufficient_data": (
        "Insufficient data",
        "#5d5d5d",
        "M5.5 6a2.5 2.5 0 1 1 3.5 2.3C8.3 8.7 8 9.2 8 10v.5M8 12.5v.5",
    ),
}


def status_words(status: str | None) -> str:
    return STATUS.get(status or "", (str(status or "unknown").replace("_", " ").capitalize(), "", ""))[0]


def status_badge(status: str | None) -> Markup:
    words, colour, glyph = STATUS.get(status or "", (status_words(status), "#5d5d5d", "M8 4v8"))
    return Markup(
        f'<span class="status-badge" data-status="{escape(status or "")}" style="background:{colour}">'
        f'<svg aria-hidden="true" width="14" height="14" viewBox="0 0 16 16"><path d="{glyph}" fill="none" '
        f'stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>'
        f"{escape(words)}</span>"
    )


def status_letter(status: str | None) -> str:
    return {"realised": "R", "emerging": "E", "target_met_unattributed": "T", "not_yet_evident": "N", "disbenefit": "D",
            "insufficient_data": "I"}.get(
        status or "", "?"
    )


def status_colour(status: str | None) -> str:
    return STATUS.get(status or "", ("", "#5d5d5d", ""))[1]
