"""The HTML benefits report: per site (from its local mart) and national (from the national mart).

`build_reports(wh, sites, out_dir)` writes the whole report and returns the path of its
`index.html`; `build(...)` does the same with options and tells what it wrote;
`check_report(out_dir)` is the link and asset check (no missing files, no external URLs).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.config.sites import SiteConfig
from pipeline.report.build import ReportResult, build
from pipeline.report.check import check_report
from pipeline.warehouse.core import Warehouse


def build_reports(wh: Warehouse, sites: list[SiteConfig], out_dir: str | Path) -> Path:
    """Every configured trust's page, the national page and the index; returns the index."""
    return build(wh, sites, out_dir).index


__all__ = ["ReportResult", "build", "build_reports", "check_report"]
