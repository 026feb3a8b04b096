"""The demo sites through validation and quarantine: every row accounted for, results kept, marts and docs built.

One module-scoped DuckDB warehouse holds the small demo extracts of all five sites (four trusts
and the NHS England A&E publication), ingested batch by batch as `benefits run` does.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from dataset_contracts.contracts import CONTRACTS
from tests.support import demo
from tests.support.pipeline import ingest_all


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, simulated_root):
    from pipeline import runtime
    from pipeline.config.settings import load_settings

    home = tmp_path_factory.mktemp("dq_demo") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENEFITS_HOME", str(home))
        mp.delenv("BENEFITS_WAREHOUSE_URL", raising=False)
        runtime.reset()
        sites = demo.write_sites(home.parent / "sites", simulated_root)
        outcomes = ingest_all(sites)
        settings = load_settings()
        yield SimpleNamespace(home=home, sites=sites, outcomes=outcomes, settings=settings, wh=runtime.warehouse(settings))
        runtime.reset()


def _sources(demo_run) -> set[tuple[str, str]]:
    """(site, source) of every enabled source of the demo's sites: one batch each."""
    from pipeline.config.sites import load_sites

    return {(s.ods_code, src.name) for s in load_sites(demo_run.sites) for src in s.sources if src.enabled}


def test_every_batch_of_every_demo_site_accounts_for_every_row(demo_run):
    wh = demo_run.wh
    assert {o.status for o in demo_run.outcomes} == {"loaded"}
    batches = wh.query("select * from meta.load_batch")
    sources = _sources(demo_run)
    assert len(batches) == len(sources) and set(batches["site_code"]) == {site for site, _ in sources}
    assert (batches["rows_in"] == batches["rows_loaded"] + batches["rows_quarantined"]).all()
    assert batches["rows_quarantined"].sum() > 0
    # ... and the tables agree with the record, batch by batch
    for dataset in CONTRACTS:
        counts = {
            schema: wh.query(f"select _batch_id, count(*) as n from {schema}.{dataset} group by 1").set_index("_batch_id")["n"]
            for schema in ("staging", "quarantine")
        }
        for b in batches[batches["dataset"] == dataset].to_dict("records"):
            assert counts["staging"].get(b["batch_id"], 0) == b["rows_loaded"], b
            assert counts["quarantine"].get(b["batch_id"], 0) == b["rows_quarantined"], b


def test_quarantined_rows_carry_batch_rules_and_original_values(demo_run):
    wh = demo_run.wh
    q = wh.query("select ward_code, _batch_id, _failed_rules from quarantine.medication_administrations")
    assert q["_batch_id"].notna().all() and (q["_failed_rules"] != "").all()
    # an unmapped local ward code is kept as delivered, so a release can map it later
    assert set(q.loc[q["_failed_rules"].str.contains("ward_code_has_mapping"), "ward_code"]) == {"ZZ99"}


def test_results_history_rows_for_every_rule(demo_run):
    wh = demo_run.wh
    dq = wh.query("select * from meta.dq_result")
    for col in ("batch_id", "site_code", "dataset", "expectation", "category", "severity", "passed"):
        assert dq[col].notna().all(), col
    assert set(dq["category"]) == {"conformance", "completeness", "plausibility"}
    assert set(dq["severity"]) <= {"fatal", "error", "warning"}
    assert dq.groupby("batch_id")["expectation"].nunique().min() >= 15
    row_level = dq[dq["unexpected_count"].notna()]
    assert ((row_level["unexpected_percent"] - 100.0 * row_level["unexpected_count"] / row_level["element_count"]).abs() < 1e-9).all()
    # the real A&E file: its one admissions > attendances row is a warning, nothing is held
    ae = dq[dq["dataset"] == "ae_monthly"].set_index("expectation")
    assert ae.loc["emergency_admissions_not_above_attendances", "unexpected_count"] == 1
    assert ae[ae["severity"] != "warning"]["passed"].all()


def test_results_hold_no_patient_level_values(demo_run):
    wh = demo_run.wh
    observed = [v for v in wh.query("select observed_value from meta.dq_result")["observed_value"] if v is not None]
    assert observed and all(len(v) <= 200 for v in observed)
    identifiers = set()
    for dataset, cols in {
        "medication_administrations": ("administration_id", "patient_ref"),
        "inpatient_spells": ("spell_id", "patient_ref"),
        "patient_safety_incidents": ("incident_id",),
    }.items():
        for col in cols:
            identifiers |= set(wh.query(f"select distinct {col} from quarantine.{dataset} where {col} is not null")[col])
    assert identifiers
    leaks = [v for v in observed if any(i in v for i in identifiers)]
    assert leaks == []
    # what is stored: counts, 'all present' / 'missing: ...', or a drift message naming columns
    assert all(re.fullmatch(r"\d+|all present|missing: [a-z_, ]+", v) for v in observed), set(observed)


def test_dq_mart_views(demo_run):
    from pipeline.marts.build import site_context
    from pipeline.runtime import get_sites
    from pipeline.warehouse.models import build, discover, local_views_model

    wh = demo_run.wh
    sites = [site_context(s) for s in get_sites(demo_run.sites) if s.role == "trust"]
    models = [m for m in discover(sites) if m.name.startswith("dq_")]
    local = [m for m in models if m.name.endswith("_all")]
    views = local_views_model(local, {s["ods_code"]: s["schema"] for s in sites})
    built = build(wh, [*models, views], {"trusts": [s["ods_code"] for s in sites], "datasets": sorted(CONTRACTS)})
    assert {"national.dq_pass_rate_monthly", "national.dq_new_failures", "national.dq_quarantine_monthly",
            "national.dq_batch", "measures.dq_pass_rate_monthly_all", "measures.dq_quarantine_monthly_all"} <= set(built)  # fmt: skip
    made = wh.query("select table_schema, table_name from information_schema.tables where table_type = 'VIEW'")
    made = set(made[made["table_name"].str.startswith("dq_")].itertuples(index=False, name=None))
    local_views = {(s["schema"], m.name.removesuffix("_all")) for s in sites for m in local}
    assert len(local) == 4 and local_views <= made  # each trust's four dq views
    assert made - local_views == {tuple(fqn.split(".")) for fqn in built if fqn != views.fqn}

    rate = wh.query("select * from national.dq_pass_rate_monthly")
    dq = wh.query("select site_code, dataset, category, passed from meta.dq_result")
    assert rate["checks"].sum() == len(dq) and rate["checks_passed"].sum() == dq["passed"].sum()
    assert rate["pass_rate"].between(0, 1).all() and set(rate["category"]) == set(dq["category"])

    batch = wh.query("select * from national.dq_batch")
    assert len(batch) == len(_sources(demo_run)) and (batch["rows_in"] == batch["rows_loaded"] + batch["rows_quarantined"]).all()

    # rows quarantined per rule, summed over months, equal what GX counted for the rule
    qm = wh.query("select site_code, dataset, rule, sum(rows_quarantined) as n from national.dq_quarantine_monthly group by 1, 2, 3")
    failed = wh.query(
        "select site_code, dataset, expectation as rule, unexpected_count as n from meta.dq_result "
        "where severity = 'error' and not passed"
    )
    merged = qm.merge(failed, on=["site_code", "dataset", "rule"], how="outer", suffixes=("_mart", "_gx"))
    assert len(merged) > 5 and (merged["n_mart"] == merged["n_gx"]).all(), merged

    local = wh.query("select distinct site_code from local_rf4.dq_quarantine_monthly")
    assert list(local["site_code"]) == ["RF4"]
    assert set(wh.query("select site_code from local_rj1.dq_batch")["site_code"]) == {"RJ1"}


def test_data_docs_index_names_every_batch(demo_run):
    from expectations.docs import build_batch_docs

    index = build_batch_docs(demo_run.settings)
    assert index == demo_run.settings.data_docs_dir / "index.html" and index.exists()
    html = index.read_text()
    for o in demo_run.outcomes:
        assert o.batch_id in html, o
    for dataset in CONTRACTS:
        assert (demo_run.settings.data_docs_dir / "expectations" / f"{dataset}.html").exists()
    pages = list((demo_run.settings.data_docs_dir / "validations").rglob("*.html"))
    assert len(pages) == len(_sources(demo_run))
    # counts only: no example values of failing rows in the rendered results
    stored = [json.loads(p.read_text()) for p in (demo_run.home / "gx").rglob("validations/**/*.json")]
    assert len(stored) == len(_sources(demo_run))
    for result in stored:
        for r in result["results"]:
            shown = json.dumps(r["result"])
            assert not r["result"].get("partial_unexpected_list"), r["expectation_config"]["meta"]["rule"]
            assert not set(r["result"]) & {"unexpected_list", "unexpected_index_list", "partial_unexpected_counts"}
            assert "unexpected_rows" not in shown


def test_batch_artifact_text(demo_run):
    from dataclasses import asdict

    from expectations.report import batch_markdown
    from flows.common import artifact_key

    rf4 = next(o for o in demo_run.outcomes if o.site_code == "RF4" and o.dataset == "medication_administrations")
    dq = demo_run.wh.query("select * from meta.dq_result where batch_id = :b", {"b": rf4.batch_id})
    text = batch_markdown(asdict(rf4), dq, "/docs/index.html")
    assert rf4.batch_id in text and "| plausibility |" in text
    for rule in dq.loc[~dq["passed"], "expectation"]:
        assert f"| {rule} |" in text
    assert artifact_key("dq", "RF4", "ae_publication") == "dq-rf4-ae-publication"
