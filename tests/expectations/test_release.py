"""Quarantine release: fix a mapping, reprocess the quarantined rows, keep every row accounted for.

A small test site (TST) with two file sources runs through `ingest_source` as in production, on
DuckDB and on PostgreSQL; the command-line test drives `benefits quarantine list|show|release`,
and the DQ mart views are built and read on both engines.
"""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from dataset_contracts.contracts import CONTRACTS, get_contract
from tests.expectations.fixtures import AS_OF, MAPPINGS, SITE, clean_rows, fixture_name, write_csv

MED, SPELLS = "medication_administrations", "inpatient_spells"


def site_yaml(sites_dir, drop, mappings) -> None:
    config = {
        "ods_code": SITE,
        "name": "Test trust",
        "trust_type": "acute",
        "region": "Test",
        "sources": [
            {"name": "epma", "connector": "files", "dataset": MED, "options": {"path": str(drop / MED / "*.csv")}},
            {"name": "pas", "connector": "files", "dataset": SPELLS, "options": {"path": str(drop / SPELLS / "*.csv")}},
        ],
        "mappings": mappings,
    }
    sites_dir.mkdir(parents=True, exist_ok=True)
    (sites_dir / f"{SITE}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(params=["duckdb", "postgresql"])
def trust(request, home, tmp_path, monkeypatch):
    """The TST site's extracts: medication rows with an unmapped local status and an unknown ward,
    spells of which 10% have an unmapped specialty (enough to hold the batch)."""
    if request.param == "postgresql":
        monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", request.getfixturevalue("pg_url"))
    drop, sites = tmp_path / "drop", tmp_path / "sites"
    med = clean_rows(MED, n=100)
    med[10]["status"] = med[11]["status"] = "REFUSD"  # a local code the site has not mapped yet
    med[20]["ward_code"] = "W09"  # a ward missing from the site's list
    med[30]["dose_value"] = "-5"  # genuinely wrong: stays quarantined
    write_csv(drop / MED / fixture_name(MED), get_contract(MED), med)
    spells = clean_rows(SPELLS, n=40)
    for r in spells[:4]:
        r["main_specialty_code"] = "999"
    write_csv(drop / SPELLS / fixture_name(SPELLS), get_contract(SPELLS), spells)
    site_yaml(sites, drop, MAPPINGS)
    return sites, drop


def _ingest(sites, name, as_of=AS_OF):
    from pipeline.ingest.source import ingest_source
    from pipeline.runtime import get_sites, prepare_warehouse, validator, warehouse
    from pipeline.config.settings import load_settings

    settings = load_settings()
    site = get_sites(sites)[0]
    wh = warehouse(settings)
    prepare_warehouse(wh, [site])
    source = next(s for s in site.sources if s.name == name)
    return ingest_source(wh, site, source, settings=settings, validator=validator(wh), as_of=as_of), wh


def _fixed_mappings(**extra):
    fixed = {k: {c: (list(v) if isinstance(v, list) else dict(v)) for c, v in m.items()} for k, m in MAPPINGS.items()}
    fixed[MED]["status"]["REFUSD"] = "refused"
    fixed[MED]["ward_code"].append("W09")
    fixed[SPELLS]["main_specialty_code"].append("999")
    return fixed


def _balanced(wh) -> None:
    batches = wh.query("select * from meta.load_batch")
    assert (batches["rows_in"] == batches["rows_loaded"] + batches["rows_quarantined"]).all(), batches


def test_release_after_fixing_mappings(trust):
    from pipeline.ingest import quarantine
    from pipeline.runtime import get_sites, validator

    sites, drop = trust
    outcome, wh = _ingest(sites, "epma")
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 96, 4)

    listed = quarantine.summary(wh, site=SITE)
    assert listed["batch_id"].tolist() == [outcome.batch_id]
    assert listed["rules"][0] == {"status_in_value_set": 2, "ward_code_has_mapping": 1, "dose_value_not_negative": 1}
    shown = quarantine.rows(wh, outcome.batch_id, rule="status_in_value_set")
    assert shown["status"].tolist() == ["REFUSD", "REFUSD"]  # the original local code

    # the site adds the missing mappings, then reprocesses the quarantined rows
    site_yaml(sites, drop, _fixed_mappings())
    site = get_sites(sites)[0]
    dry = quarantine.release(wh, site, outcome.batch_id[:8], validator=validator(wh), as_of=AS_OF, dry_run=True)
    assert (dry.rows_in, dry.rows_loaded, dry.rows_quarantined) == (4, 3, 1)
    assert wh.scalar("select count(*) from meta.load_batch") == 1  # a dry run changes nothing

    rel = quarantine.release(wh, site, outcome.batch_id, validator=validator(wh), as_of=AS_OF)
    assert (rel.rows_in, rel.rows_loaded, rel.rows_quarantined) == (4, 3, 1)
    assert rel.rules == {"dose_value_not_negative": 1}
    record = wh.query("select * from meta.load_batch where batch_id = :b", {"b": rel.batch_id}).iloc[0]
    assert record["released_from"] == outcome.batch_id and record["connector"] == "quarantine-release"
    assert record["source_name"] == "epma" and record["status"] == "loaded"
    _balanced(wh)
    assert wh.scalar("select count(*) from staging.medication_administrations") == 99
    refused = wh.query("select _batch_id from staging.medication_administrations where status = 'refused'")
    assert refused["_batch_id"].tolist() == [rel.batch_id] * 2
    q = wh.query("select _batch_id, _failed_rules from quarantine.medication_administrations")
    assert q.values.tolist() == [[rel.batch_id, "dose_value_not_negative"]]
    dq = wh.query("select expectation, passed from meta.dq_result where batch_id = :b", {"b": rel.batch_id})
    assert len(dq) > 15 and not dq.set_index("expectation").loc["dose_value_not_negative", "passed"]

    # what is left cannot pass; releasing it again re-quarantines it under a new release batch
    again = quarantine.release(wh, site, rel.batch_id, validator=validator(wh), as_of=AS_OF)
    assert (again.rows_loaded, again.rows_quarantined) == (0, 1)
    _balanced(wh)
    with pytest.raises(quarantine.QuarantineError, match="nothing to release"):
        quarantine.release(wh, site, outcome.batch_id, validator=validator(wh), as_of=AS_OF)


def test_release_of_a_held_batch(trust):
    from connectors.state import read_state
    from pipeline.ingest import quarantine
    from pipeline.runtime import get_sites, validator

    sites, drop = trust
    held, wh = _ingest(sites, "pas")
    assert held.status == "held" and "main_specialty_code_has_mapping: 4 of 40 rows (10.00%)" in held.reason
    assert wh.scalar("select count(*) from staging.inpatient_spells") == 0
    assert read_state(wh, SITE, "pas") == {}
    assert quarantine.summary(wh, dataset=SPELLS)["rules"][0] == {"batch_held": 40}

    site_yaml(sites, drop, _fixed_mappings())
    rel = quarantine.release(wh, get_sites(sites)[0], held.batch_id, validator=validator(wh), as_of=AS_OF)
    assert (rel.rows_in, rel.rows_loaded, rel.rows_quarantined) == (40, 40, 0) and rel.watermark_advanced
    status = wh.query("select batch_id, status, superseded_by, released_from from meta.load_batch").set_index("batch_id")
    assert status.loc[held.batch_id, "status"] == "released"
    assert status.loc[held.batch_id, "superseded_by"] == rel.batch_id
    assert status.loc[rel.batch_id, "released_from"] == held.batch_id
    assert wh.scalar("select count(*) from staging.inpatient_spells") == 40
    assert wh.scalar("select count(*) from quarantine.inpatient_spells") == 0
    _balanced(wh)
    # the files the held batch came from now count as loaded
    again, _ = _ingest(sites, "pas")
    assert again.status == "up_to_date"
    assert read_state(wh, SITE, "pas")["files"]


def test_quarantine_commands(home, tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import _register, app

    drop, sites = tmp_path / "drop", tmp_path / "sites"
    med = clean_rows(MED, n=100)
    med[3]["status"] = "REFUSD"
    write_csv(drop / MED / fixture_name(MED), get_contract(MED), med)
    write_csv(drop / SPELLS / fixture_name(SPELLS), get_contract(SPELLS), clean_rows(SPELLS, n=10))
    site_yaml(sites, drop, MAPPINGS)
    outcome, _ = _ingest(sites, "epma")
    _register()
    runner = CliRunner()

    listed = runner.invoke(app, ["quarantine", "list", "--site", SITE])
    assert listed.exit_code == 0, listed.output
    assert outcome.batch_id in listed.output and "status_in_value_set (1)" in listed.output

    shown = runner.invoke(app, ["quarantine", "show", outcome.batch_id[:10], "--rule", "status_in_value_set"])
    assert shown.exit_code == 0, shown.output
    assert "REFUSD" in shown.output and "MA00003" in shown.output

    missing = runner.invoke(app, ["quarantine", "show", "nosuchbatch"])
    assert missing.exit_code == 2 and "no batch 'nosuchbatch'" in missing.output

    site_yaml(sites, drop, _fixed_mappings())
    args = ["quarantine", "release", outcome.batch_id, "--sites", str(sites), "--as-of", AS_OF.isoformat()]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0 and "would load 1, 0 still fail" in dry.output, dry.output
    done = runner.invoke(app, args)
    assert done.exit_code == 0 and "loaded 1, 0 still fail" in done.output, done.output
    assert runner.invoke(app, ["quarantine", "list"]).output.strip() == "no quarantined rows"
    assert (home / "data_docs" / "index.html").exists()


@pytest.mark.slow
def test_ingest_flow_publishes_a_data_quality_artifact_per_batch(prefect_server, home, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.ingest_site import ingest_site

    drop, sites = tmp_path / "drop", tmp_path / "sites"
    med = clean_rows(MED, n=100)
    med[3]["status"] = "REFUSD"
    write_csv(drop / MED / fixture_name(MED), get_contract(MED), med)
    write_csv(drop / SPELLS / fixture_name(SPELLS), get_contract(SPELLS), clean_rows(SPELLS, n=10))
    site_yaml(sites, drop, MAPPINGS)
    outcomes = {o["source_name"]: o for o in ingest_site(site=SITE, sites_dir=str(sites))}
    assert outcomes["epma"]["rows_quarantined"] == 1

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["dq-tst-epma"])))
    assert len(found) == 1
    text = found[0].data
    assert outcomes["epma"]["batch_id"] in text and "| status_in_value_set | conformance | error | 1 |" in text
    assert "MA00003" not in text and "REFUSD" not in text  # counts, never row values
    index = home / "data_docs" / "index.html"
    assert index.exists() and all(o["batch_id"] in index.read_text() for o in outcomes.values())


def _build_dq_views(sites):
    from pipeline.marts.build import site_context
    from pipeline.runtime import get_sites, warehouse
    from pipeline.warehouse.models import build, discover, local_views_model

    trusts = [site_context(s) for s in get_sites(sites)]
    models = [m for m in discover(trusts) if m.name.startswith("dq_")]
    views = local_views_model([m for m in models if m.name.endswith("_all")], {s["ods_code"]: s["schema"] for s in trusts})
    return build(warehouse(), [*models, views], {"trusts": [s["ods_code"] for s in trusts], "datasets": sorted(CONTRACTS)})


def test_dq_mart_new_failures_since_the_previous_batch(trust):
    sites, drop = trust
    first, wh = _ingest(sites, "epma")
    july = clean_rows(MED, n=50)
    for r in july:
        r["administration_id"] = r["administration_id"].replace("MA", "MB")
        for col in ("scheduled_at", "administered_at"):
            r[col] = r[col].replace("2018-06-", "2018-07-")
    july[5]["dose_unit"] = "tablets"  # new in this batch
    july[6]["status"] = "REFUSD"  # failed in the previous batch too
    write_csv(drop / MED / f"{MED}_2018-07.csv", get_contract(MED), july)
    second, _ = _ingest(sites, "epma", as_of=AS_OF + dt.timedelta(days=60))
    assert (second.status, second.rows_in, second.rows_quarantined) == ("loaded", 50, 2)

    built = _build_dq_views(sites)
    assert "measures.dq_new_failures_all" in built and "measures.local_views" in built
    for schema in ("national", "local_tst"):
        new = wh.query(f"select * from {schema}.dq_new_failures where is_latest")
        cols = ["batch_id", "previous_batch_id", "expectation", "unexpected_count", "previous_result"]
        assert new[cols].values.tolist() == [[second.batch_id, first.batch_id, "dose_unit_in_value_set", 1, "passed"]]
    rate = wh.query("select * from national.dq_pass_rate_monthly where dataset = :d", {"d": MED})
    assert set(rate["category"]) == {"conformance", "completeness", "plausibility"}
    assert int(rate["batches"].max()) == 2 and rate["pass_rate"].between(0, 1).all()
    q = wh.query("select month, rule, rows_quarantined from national.dq_quarantine_monthly where site_code = 'TST'")
    by = {(str(m)[:7], r): int(n) for m, r, n in q.values.tolist()}
    assert by == {
        ("2018-06", "status_in_value_set"): 2,
        ("2018-06", "ward_code_has_mapping"): 1,
        ("2018-06", "dose_value_not_negative"): 1,
        ("2018-07", "dose_unit_in_value_set"): 1,
        ("2018-07", "status_in_value_set"): 1,
    }
    batches = wh.query("select * from local_tst.dq_batch order by loaded_at")
    assert batches["batch_id"].tolist() == [first.batch_id, second.batch_id]
    assert (batches["rows_in"] == batches["rows_loaded"] + batches["rows_quarantined"]).all()
    assert batches["error_failed"].tolist() == [3, 2]
