"""Tests that share an expensive package fixture run on one xdist worker, so it is built once per run."""

from __future__ import annotations

from pathlib import Path

import pytest


def group_by_fixtures(items, folder: Path, fixtures: set[str], group: str) -> None:
    """Put every collected test under `folder` that uses one of `fixtures` in xdist group `group`
    (loadgroup hands the largest group out first, so it cannot leave a worker idle at the end)."""
    for item in items:
        if fixtures & set(getattr(item, "fixturenames", ())) and folder in Path(item.path).parents:
            item.add_marker(pytest.mark.xdist_group(group))
