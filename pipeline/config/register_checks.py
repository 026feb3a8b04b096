"""Register entries that load but cannot give the answer their author expects: warnings that name
the file and the field (issue 15 #17). They warn rather than fail: a short baseline or an odd
target may be deliberate, and the run's statuses still say what can be concluded."""

from __future__ import annotations

import math
from pathlib import Path

from benefits.register import Benefit
from benefits.status import StatusRules
from pipeline.config.sites import SiteConfig

MIN_BASELINE_MONTHS = StatusRules().min_baseline_points


def _where(site: SiteConfig, index: int) -> str:
    path = site.benefits_path or site.path or Path(f"{site.ods_code}.yaml")
    return f"{path}: benefits.{index}"


def baseline_warnings(site: SiteConfig) -> list[str]:
    out = []
    for i, b in enumerate(site.benefit_list):
        start, end = b.baseline.start, b.baseline.end
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if months < MIN_BASELINE_MONTHS:
            out.append(
                f"{_where(site, i)}.baseline: {start:%Y-%m} to {end:%Y-%m} is {months} month(s) "
                f"(benefit {b.id}); {MIN_BASELINE_MONTHS} are needed before its status can be more than insufficient_data"
            )
    return out


def target_warning(site: SiteConfig, benefit: Benefit, direction: str | None, baseline_mean: float) -> str | None:
    """A target no better than the baseline for the measure's direction: met on day one, or the
    direction is wrong."""
    if benefit.target is None or baseline_mean is None or not math.isfinite(baseline_mean):
        return None
    target = benefit.target.value
    if direction == "higher" and target < baseline_mean:
        side = "below"
    elif direction == "lower" and target > baseline_mean:
        side = "above"
    else:
        return None
    index = next(i for i, b in enumerate(site.benefit_list) if b is benefit)
    return (
        f"{_where(site, index)}.target.value: {target:g} is {side} the baseline mean {baseline_mean:.4g} but "
        f"{direction} is better for {benefit.measure} (benefit {benefit.id}); check the target or set direction"
    )
