"""The scheduled flows on their own, as their deployments run them: a site's nightly ingest on an
empty warehouse, the daily marts build, the monthly benefits; each leaves its artifact."""

from __future__ import annotations

import json

from tests.flows.conftest import tiny_sites


def test_site_marts_and_benefits_flows_alone(prefect_server, home, tmp_path, tiny_root):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from flows.build_marts import build_marts
    from flows.ingest_site import ingest_site
    from flows.realise_benefits import realise_benefits

    sites = str(tiny_sites(tmp_path / "sites", tiny_root, ["TA1"]))
    outcomes = ingest_site(site="TA1", sites_dir=sites)  # creates the schemas it needs
    assert [o["status"] for o in outcomes] == ["loaded"] * 3
    assert all(0 < o["dq_passed"] <= o["dq_rules"] for o in outcomes)
    models = build_marts(sites_dir=sites)
    # the local marts: one table over every trust, then the step that gives each trust its local_<ods> views
    assert {"national.fact_measure_monthly", "measures.fact_measure_monthly_all", "measures.local_views"} <= set(models)
    summary = realise_benefits(sites_dir=sites)
    assert summary["benefits"] == 3 and not summary["problems"]

    with get_client(sync_client=True) as client:
        [table] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest-site-ta1"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
        [statuses] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["benefit-statuses"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    rows = json.loads(table.data)
    assert [(r["source_name"], r["rows_in"], r["rows_loaded"]) for r in rows] == [
        (o["source_name"], o["rows_in"], o["rows_loaded"]) for o in outcomes
    ]
    assert all(f"| TA1 | {b} |" in statuses.data for b in ("TA1-EPMA-01", "TA1-BPI-01", "TA1-FLOW-01"))
