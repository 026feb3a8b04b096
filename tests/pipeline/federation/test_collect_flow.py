"""The scheduled collector flow: the same collection as the command, with its table artifact."""

from __future__ import annotations

import datetime as dt
import json

from tests.pipeline.federation.collect_support import site_keys, write_package


def test_collect_packages_flow(prefect_server, home, tmp_path, monkeypatch):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from flows.collect import collect_packages

    private, registry = site_keys(tmp_path / "keys", ["RAA"])
    root = tmp_path / "exchange"
    good = write_package(root / "inbox", private["RAA"], "RAA", "2025-04", "2025-06", dt.datetime(2025, 7, 10, 9))
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'collector.duckdb'}")
    monkeypatch.setenv("BENEFITS_EXCHANGE_URL", str(root))
    summary = collect_packages(keys=str(registry))
    assert [(p["package"], p["status"]) for p in summary["packages"]] == [(good.name, "accepted")]
    assert summary["board_rows"] > 0 and (root / "accepted" / good.name).is_dir()
    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["collect-packages"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    rows = json.loads(artifact.data)
    assert rows[0]["package"] == good.name and rows[0]["status"] == "accepted"
