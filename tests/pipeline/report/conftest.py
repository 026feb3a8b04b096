"""A warehouse built once for the report tests (two demo trusts in two regions plus the national A&E
publication, at test scale, through the real ingest, marts and benefits code), and the report built
from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.pipeline.report.chromium import find_chromium
from tests.support import demo
from tests.support.xdist import group_by_fixtures

SITES = ["RF4", "RRK", "X24"]  # London and Midlands acute trusts, and NHS England's A&E publication
TRUSTS = ["RF4", "RRK"]


@pytest.fixture(scope="session")
def report_sites(tmp_path_factory, simulated_root) -> Path:
    return demo.write_sites(tmp_path_factory.mktemp("report_sites"), simulated_root, only=SITES)


@pytest.fixture(scope="session")
def report_warehouse_url(tmp_path_factory, report_sites) -> str:
    from pipeline import runtime
    from tests.support.pipeline import build_all, ingest_all

    home = tmp_path_factory.mktemp("report_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENEFITS_HOME", str(home))
        mp.delenv("BENEFITS_WAREHOUSE_URL", raising=False)
        runtime.reset()
        try:
            outcomes = ingest_all(report_sites)
            assert {o.status for o in outcomes} <= {"loaded", "up_to_date"}, [o.status for o in outcomes]
            build_all(report_sites)
            url = runtime.warehouse().url
        finally:
            runtime.reset()
    return url


@pytest.fixture(scope="session")
def report_wh(report_warehouse_url):
    from pipeline.warehouse.core import Warehouse

    wh = Warehouse(report_warehouse_url)
    yield wh
    wh.dispose()


@pytest.fixture(scope="session")
def report_site_configs(report_sites):
    from pipeline.runtime import get_sites

    return get_sites(report_sites)


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory, report_wh, report_site_configs) -> Path:
    from pipeline.report import build

    out = tmp_path_factory.mktemp("report") / "html"
    result = build(report_wh, report_site_configs, out)
    assert result.sites == TRUSTS
    return out


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    path, why = find_chromium(install=os.environ.get("BENEFITS_NO_BROWSER_INSTALL", "") == "")
    if not path:
        if os.environ.get("CI") and why.startswith("apt-get install chromium failed"):
            pytest.fail(f"CI: the browser tests must run, but {why}")  # e.g. dpkg's lock held past the timeout
        pytest.skip(why)
    return path


# Every test here that reads the report warehouse runs on one xdist worker, so the warehouse (ingest,
# marts and benefits of three sites) and the report built from it are made once per run, not once on
# each worker.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    group_by_fixtures(items, Path(__file__).parent, {"report_warehouse_url"}, "report-warehouse")
