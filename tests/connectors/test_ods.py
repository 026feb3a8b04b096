"""`ods`: names, roles and regions from the ORD API, cached in meta.ods_organisation."""

from __future__ import annotations

import pytest

from connectors import ods
from connectors.runner import run_connector
from pipeline.warehouse.core import Warehouse
from tests.connectors.fake_api import Reply, free_port
from tests.connectors.sources import ods_routes


def test_name_role_and_region(fake_api):
    base = ods_routes(fake_api)
    result = run_connector("ods", {"org_codes": ["rf4", "RJ1", "RRK"], "base_url": base}, collect=True)
    rows = {r["org_code"]: r for r in result.table.to_pylist()}
    assert rows["RF4"]["name"] == "BARKING, HAVERING AND REDBRIDGE UNIVERSITY HOSPITALS NHS TRUST"
    assert rows["RF4"]["primary_role"] == "NHS TRUST"
    assert rows["RF4"]["region"] == "LONDON COMMISSIONING REGION"  # via its ICB
    assert rows["RJ1"]["region"] == "LONDON COMMISSIONING REGION"  # the inactive relationship is ignored
    assert rows["RRK"]["region"] == "MIDLANDS COMMISSIONING REGION"


@pytest.fixture(params=["duckdb", "postgresql"])
def wh(request, tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}" if request.param == "duckdb" else request.getfixturevalue("pg_url")
    w = Warehouse(url)
    yield w
    w.dispose()


def test_refresh_caches_and_survives_an_unreachable_api(fake_api, wh):
    base = ods_routes(fake_api)
    first = ods.refresh(wh, ["RF4", "RJ1", "ZZZ99"], base_url=base)
    assert sorted(first.fetched) == ["RF4", "RJ1"] and first.unknown == ["ZZZ99"] and first.error is None
    table = wh.query("select org_code, name, primary_role, region, fetched_at from meta.ods_organisation order by 1")
    assert list(table["org_code"]) == ["RF4", "RJ1"] and table["fetched_at"].notna().all()
    calls = len(fake_api.requests)
    again = ods.refresh(wh, ["RF4", "RJ1"], base_url=base)
    assert again.cached == ["RF4", "RJ1"] and not again.fetched and len(fake_api.requests) == calls
    # stale rows are refetched; when the API cannot be reached, the cached rows stay and nothing raises
    gone = ods.refresh(wh, ["RF4", "RRK"], base_url=f"http://127.0.0.1:{free_port()}/ORD", max_age_days=0)
    assert gone.error and "connection refused" in gone.error
    assert list(wh.query("select org_code from meta.ods_organisation order by 1")["org_code"]) == ["RF4", "RJ1"]


def test_refresh_for_run_only_when_configured(fake_api, monkeypatch, tmp_path):
    w = Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    monkeypatch.delenv("BENEFITS_ODS_URL", raising=False)
    assert ods.refresh_for_run(w, ["RF4"]) is None and not fake_api.requests
    fake_api.route("/ORD/organisations/RF4", lambda req: Reply(500, "down"))
    monkeypatch.setenv("BENEFITS_ODS_URL", f"{fake_api.base}/ORD")
    result = ods.refresh_for_run(w, ["RF4"])
    assert result is not None and "HTTP 500" in result.error
    w.dispose()


def test_marts_build_names_unconfigured_organisations_from_ods(fake_api, monkeypatch, tmp_path):
    """The marts build asks ODS about every organisation in the national A&E data; one that no
    site config describes gets its name and region in national.dim_site from ODS."""
    from flows.build_marts import build_marts_task
    from pipeline import runtime
    from pipeline.ingest.source import ingest_source
    from pipeline.config.settings import load_settings
    from tests.support import demo

    sites_dir = demo.write_sites(tmp_path / "sites", tmp_path / "unused", only=["X24"])  # the A&E publication only
    monkeypatch.setenv("BENEFITS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'wh.duckdb'}")
    monkeypatch.setenv("BENEFITS_ODS_URL", ods_routes(fake_api))
    runtime.reset()
    try:
        settings = load_settings()
        wh = runtime.warehouse(settings)
        (site,) = runtime.get_sites(sites_dir)
        runtime.prepare_warehouse(wh, [site])
        outcome = ingest_source(wh, site, site.sources[0], settings=settings, validator=runtime.validator(wh))
        assert outcome.status == "loaded", outcome.reason
        build_marts_task.fn(str(sites_dir))
        asked = {r.path.rsplit("/", 1)[-1] for r in fake_api.requests if "/organisations/" in r.path}
        assert {"RF4", "RJ1", "RRK"} <= asked and len(asked) > 200  # every organisation in the A&E file
        names = wh.query("select site_code, site_name, region, configured from national.dim_site "
                         "where site_code in ('RF4', 'RJ1')").set_index("site_code")
        assert names.loc["RF4", "site_name"] == "BARKING, HAVERING AND REDBRIDGE UNIVERSITY HOSPITALS NHS TRUST"
        assert names.loc["RJ1", "region"] == "LONDON COMMISSIONING REGION"
        assert not names["configured"].any()
    finally:
        runtime.reset()
