"""The `submit-site` flow sends the same package as the command, to the worker's BENEFITS_EXCHANGE_URL."""

from __future__ import annotations

import pytest

from pipeline import runtime
from pipeline.federation import package as pkg
from pipeline.federation.keys import load_registry, verify
from pipeline.federation.submit import SubmitError
from tests.pipeline.federation.conftest import SITE


@pytest.mark.slow
def test_flow_submits_to_the_workers_url(built, prefect_server, tmp_path, monkeypatch):
    from flows.submit import submit_site

    monkeypatch.setenv("BENEFITS_HOME", str(built.home))
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", built.url)
    monkeypatch.setenv("BENEFITS_EXCHANGE_URL", str(tmp_path / "exchange"))
    try:
        result = submit_site(SITE, sites_dir=str(built.sites_dir), first="2018-04", last="2019-03")
    finally:
        runtime.reset()
    folder = tmp_path / "exchange" / pkg.INBOX / result["package"]
    body = (folder / pkg.MANIFEST).read_bytes()
    assert verify(load_registry(built.home / "keys")[SITE], (folder / pkg.SIGNATURE).read_bytes(), body)
    manifest = pkg.Manifest.model_validate_json(body)
    assert (manifest.first_month, manifest.last_month) == ("2018-04", "2019-03")
    assert result["files"] == {f.name: f.rows for f in manifest.files} and result["files"]["measures.parquet"] > 0


def test_flow_without_a_destination_says_which_variable_to_set(monkeypatch):
    from flows.submit import EXCHANGE_URL_VARIABLE, submit_site

    monkeypatch.delenv(EXCHANGE_URL_VARIABLE, raising=False)
    with pytest.raises(SubmitError, match=EXCHANGE_URL_VARIABLE):
        submit_site.fn(SITE)
