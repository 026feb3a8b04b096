"""`national-run` end to end on the demo sites (small volumes), on DuckDB and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from flows.national_run import national_run
from pipeline.config.sites import load_sites
from pipeline.marts.build import national_measures
from pipeline.runtime import warehouse
from tests.support.warehouse import mart_checksums, schema_tables, table_checksum

DEFECT_ROWS = {"null_key": 1, "duplicate": 2, "impossible_time": 1, "unknown_code": 1, "negative_dose": 1}


def expected_quarantine(simulated_root, ods: str, dataset: str) -> tuple[int, int]:
    truth = json.loads((simulated_root / ods / "ground_truth.json").read_text())
    files = truth["files"][dataset].values()
    rows = sum(f["rows"] for f in files)
    bad = sum(n * DEFECT_ROWS[kind] for f in files for kind, n in f["defects"].items())
    return rows, bad


def run_and_check(small_sites, simulated_root):
    result = national_run(sites_dir=str(small_sites))
    assert result["failed_sites"] == {}
    outcomes = {(o["site_code"], o["dataset"]): o for o in result["outcomes"]}
    sources = [src for s in load_sites(small_sites) for src in s.sources if src.enabled]
    assert len(outcomes) == len(sources) and all(o["status"] == "loaded" for o in outcomes.values())

    wh = warehouse()
    batches = wh.query("select * from meta.load_batch")
    assert (batches["rows_in"] == batches["rows_loaded"] + batches["rows_quarantined"]).all()

    # What the simulator broke on purpose is exactly what was quarantined.
    for ods in ("RF4", "RJ1", "RRK", "RV5"):
        for dataset in ("medication_administrations", "patient_safety_incidents", "inpatient_spells"):
            rows, bad = expected_quarantine(simulated_root, ods, dataset)
            o = outcomes[(ods, dataset)]
            assert (o["rows_in"], o["rows_quarantined"]) == (rows, bad), (ods, dataset)

    measures = wh.query(
        "select measure_code, count(distinct site_code) as sites from national.fact_measure_monthly group by 1"
    ).set_index("measure_code")["sites"]
    assert set(measures.index) == {m.code for m in national_measures()}
    epma = {s.ods_code for s in load_sites(small_sites) for src in s.sources if src.dataset == "medication_administrations"}
    assert measures["ae_4h_performance"] > 200 and measures["omitted_critical_doses_rate"] == len(epma) >= 4

    benefits = wh.query("select distinct site_code, benefit_id, scope from local_rf4.fact_benefit")
    assert set(benefits["benefit_id"]) == {"RF4-EPMA-01", "RF4-BPI-01", "RF4-FLOW-01"}
    national = wh.query("select distinct benefit_id, scope from national.fact_benefit")
    assert (national["scope"] == "national").all() and "RF4-FLOW-01" not in set(national["benefit_id"])
    return result


def staging_checksums(engine) -> dict[str, str]:
    return {
        t: table_checksum(engine, t)
        for t in schema_tables(engine, ["staging", "quarantine"])
        if not t.split(".")[1].startswith("stg_")
    }


def assert_rerun_is_identical(small_sites):
    engine = warehouse().engine
    marts, staged = mart_checksums(engine), staging_checksums(engine)
    assert len(marts) >= 4 * 4 + 5  # four tables in each of four local marts, five national
    result = national_run(sites_dir=str(small_sites))
    assert {o["status"] for o in result["outcomes"]} == {"up_to_date"}
    assert mart_checksums(engine) == marts
    assert staging_checksums(engine) == staged


@pytest.mark.slow
def test_duckdb_run_and_rerun(prefect_server, home, small_sites, simulated_root):
    result = run_and_check(small_sites, simulated_root)
    # Data Docs: a page per batch as it landed, the index rendered once at the end, naming all.
    index = (home / "data_docs" / "index.html").read_text()
    assert all(o["batch_id"] in index for o in result["outcomes"])
    assert len(list((home / "data_docs" / "validations").rglob("*.html"))) == len(result["outcomes"])
    assert result["timings"]["docs_seconds"] > 0
    assert_rerun_is_identical(small_sites)
    assert (home / "benefits.duckdb").exists()


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_run_and_rerun(prefect_server, home, small_sites, simulated_root, pg_url, monkeypatch):
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", pg_url)
    run_and_check(small_sites, simulated_root)
    assert_rerun_is_identical(small_sites)
    with sa.create_engine(pg_url).connect() as c:
        assert c.execute(sa.text("select count(*) from staging.medication_administrations")).scalar() > 0
