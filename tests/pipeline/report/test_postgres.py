"""The same report from a PostgreSQL warehouse: the engines return dates, booleans and numbers in
different Python types, and the site page a reader sees must not depend on which one ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.report import build, check_report
from tests.pipeline.report.conftest import SITES, TRUSTS
from tests.pipeline.report.dom import parse
from tests.support import demo

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _visible(page: Path) -> tuple[str, list[tuple[str | None, str]]]:
    doc = parse(page)
    main = doc.find("main")
    figs = [(f.get("data-field"), f.text()) for f in main.find_all("span", cls="fig")]
    return main.text(), figs


def test_site_page_reads_the_same_from_postgresql(pg_url, simulated_root, tmp_path, monkeypatch, report_wh, report_dir):
    from pipeline import runtime
    from pipeline.runtime import get_sites
    from tests.support.pipeline import build_all, ingest_all

    # The same sites as the DuckDB report: a benefit's comparator series depends on which sites
    # have benefits on its measure.
    sites_dir = demo.write_sites(tmp_path / "sites", simulated_root, only=SITES)
    monkeypatch.setenv("BENEFITS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", pg_url)
    runtime.reset()
    try:
        outcomes = ingest_all(sites_dir)
        assert {o.status for o in outcomes} == {"loaded"}
        build_all(sites_dir)
        wh = runtime.warehouse()
        assert wh.dialect == "postgresql"
        out = tmp_path / "report"
        result = build(wh, get_sites(sites_dir), out)
    finally:
        runtime.reset()
    assert result.sites == TRUSTS
    assert check_report(out) == []
    pg_text, pg_figs = _visible(out / "sites" / "RF4.html")
    duck_text, duck_figs = _visible(report_dir / "sites" / "RF4.html")
    assert len(pg_figs) > 50
    assert pg_figs == duck_figs
    assert pg_text == duck_text
    # The national page reads views whose sums PostgreSQL returns as numeric (Decimal): still formatted.
    national = parse(out / "national.html")
    cells = national.find_all("td", data_fy=True)
    assert cells and all(c.text() for c in cells)
