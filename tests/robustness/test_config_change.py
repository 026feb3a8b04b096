"""A change to the configuration that shapes a source's rows reaches the rows it loaded before,
or the run says plainly that it did not and how to apply it (issue 15 #3)."""

from __future__ import annotations

import gc
import subprocess
import sys

import duckdb
import pytest
import sqlalchemy as sa
import yaml

from pipeline import runtime
from pipeline.backfill import backfill, month_range
from pipeline.config.settings import load_settings
from pipeline.config.sites import load_site
from pipeline.runtime import warehouse
from tests.robustness.cli import ROOT, clean_env
from tests.support.pipeline import ingest_all

HEADER = "IncidentRef,Site,Location,Ward,DateOccurred,DateReported,IncidentType,Harm\n"


def _site(tmp_path):
    """A trust with one incident source: two monthly files, local codes mapped to national ones."""
    drop = tmp_path / "drop"
    drop.mkdir()
    for month in ("2017-01", "2017-02"):
        rows = [
            f"{month}-{i},RAA,W{i % 3},X{i % 2},{month}-{i + 1:02d} 10:00,{month}-{i + 1:02d} 12:00,"
            f"{'FALL' if i % 2 else 'MED'},LOW\n"
            for i in range(10)
        ]
        (drop / f"incidents_{month}.csv").write_text(HEADER + "".join(rows))
    sites = tmp_path / "sites"
    sites.mkdir()
    config = {
        "ods_code": "RAA",
        "name": "A trust",
        "trust_type": "acute",
        "region": "London",
        "sources": [
            {
                "name": "incidents",
                "connector": "files",
                "dataset": "patient_safety_incidents",
                "options": {
                    "path": str(drop / "*.csv"),
                    "columns": {
                        "IncidentRef": "incident_id", "Site": "site_code", "Location": "ward_code",
                        "DateOccurred": "occurred_at", "DateReported": "reported_at", "IncidentType": "category",
                        "Harm": "harm_level",
                    },  # fmt: skip
                },
            }
        ],
        "mappings": {
            "patient_safety_incidents": {
                "category": {"FALL": "fall", "MED": "medication"},
                "harm_level": {"LOW": "low"},
            }
        },
    }
    path = sites / "RAA.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return sites, config


def _staged(db, column: str) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.sql(f"select {column}, count(*) from staging.patient_safety_incidents group by 1").fetchall())


def test_a_changed_code_map_and_column_mapping_reprocess_unchanged_files(tmp_path, monkeypatch):
    """The real `benefits run` after the edit; it also shows that the run keeps the DuckDB file."""
    sites, config = _site(tmp_path)
    env = clean_env(tmp_path)
    # The first load in-process (a CLI run costs ~15 s); the run that must notice the change is the real command.
    monkeypatch.setenv("BENEFITS_HOME", env["BENEFITS_HOME"])
    monkeypatch.delenv("BENEFITS_WAREHOUSE_URL", raising=False)
    runtime.reset()
    try:
        assert [o.status for o in ingest_all(sites)] == ["loaded"]
    finally:
        runtime.reset()
        gc.collect()  # a reference cycle (GX's engine) keeps a DuckDB connection open until collected
    db = tmp_path / "benefits" / "benefits.duckdb"
    assert _staged(db, "category") == {"fall": 10, "medication": 10}
    assert set(_staged(db, "ward_code")) == {"W0", "W1", "W2"}

    # The trust regroups falls under `other` and takes ward codes from another column.
    config["mappings"]["patient_safety_incidents"]["category"]["FALL"] = "other"
    options = config["sources"][0]["options"]
    options["columns"] = {("Ward" if k == "Location" else k): v for k, v in options["columns"].items()}
    (sites / "RAA.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--sites", str(sites)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        head = []
        for line in run.stdout:  # past the preflight, before any flow: where another process used to slip in
            head.append(line)
            if line.startswith("warehouse:"):
                break
        grab = subprocess.run(
            [sys.executable, "-c", f"import duckdb; duckdb.connect({str(db)!r})"], capture_output=True, text=True
        )
        stdout, stderr = run.communicate(timeout=180)
    finally:
        run.kill()
        run.wait()
    out = "".join(head) + stdout + stderr
    assert run.returncode == 0, out
    assert "Traceback" not in out, out
    # The run holds the warehouse from its start (issue 15 #6): the other process is told its PID.
    assert grab.returncode != 0 and f"(PID {run.pid})" in grab.stderr, grab.stderr
    said = "config changed: column mapping, code map of category of source RAA/incidents; reprocessing 2 files"
    assert said in out, out
    assert _staged(db, "category") == {"other": 10, "medication": 10}
    assert set(_staged(db, "ward_code")) == {"X0", "X1"}


def _tables(wh) -> dict[str, list]:
    """Everything a load writes, row for row, in a stable order."""
    out = {}
    loaded = ("staging.patient_safety_incidents", "quarantine.patient_safety_incidents")
    for table in (*loaded, "meta.load_batch", "meta.watermark"):
        frame = wh.query(f"select * from {table}")
        out[table] = sorted(map(repr, frame.astype(str).itertuples(index=False)))
    return out


def test_a_rerun_with_the_same_config_changes_nothing_even_after_a_reprocess(home, tmp_path):
    sites, config = _site(tmp_path)
    first = ingest_all(sites)
    assert [(o.status, o.note) for o in first] == [("loaded", None)]
    again = ingest_all(sites)
    assert [(o.status, o.note) for o in again] == [("up_to_date", None)]

    config["mappings"]["patient_safety_incidents"]["harm_level"]["LOW"] = "moderate"
    (sites / "RAA.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    changed = ingest_all(sites)
    assert [(o.status, o.rows_in) for o in changed] == [("loaded", 20)]
    assert changed[0].note == "config changed: code map of harm_level of source RAA/incidents; reprocessing 2 files"
    assert changed[0].batch_id != first[0].batch_id  # lineage keeps the batch whose rows it replaced
    wh = warehouse()
    before = _tables(wh)
    harm = wh.query("select harm_level, count(*) as n from staging.patient_safety_incidents group by 1")
    assert harm.values.tolist() == [["moderate", 20]]
    assert wh.scalar("select superseded_by from meta.load_batch where batch_id = :b", {"b": first[0].batch_id}) == (
        changed[0].batch_id
    )
    rerun = ingest_all(sites)
    assert [(o.status, o.note) for o in rerun] == [("up_to_date", None)]
    assert _tables(wh) == before


def test_an_incremental_source_says_the_change_applies_to_new_rows_only(home, tmp_path):
    source_db = tmp_path / "pas.sqlite"
    engine = sa.create_engine(f"sqlite:///{source_db}")
    with engine.begin() as c:
        c.execute(sa.text(
            "create table spells (spell_id text, site_code text, patient_ref text, ward_code text, admitted_at text, "
            "discharged_at text, admission_method text, main_specialty_code text, discharge_destination text, "
            "updated_at text)"
        ))  # fmt: skip
        c.execute(sa.text(
            "insert into spells values ('S1', 'RAB', 'P1', 'W01', '2018-01-03 10:00:00', '2018-01-05 10:00:00', "
            "'21', '300', 'home', '2018-02-01 00:00:00')"
        ))  # fmt: skip
    engine.dispose()
    sites = tmp_path / "sites"
    sites.mkdir()
    config = {
        "ods_code": "RAB", "name": "A trust", "trust_type": "acute", "region": "London",
        "sources": [{
            "name": "pas", "connector": "sql", "dataset": "inpatient_spells",
            "options": {"url": f"sqlite:///{source_db}", "table": "spells", "replication_key": "updated_at"},
        }],
        "mappings": {"inpatient_spells": {"admission_method": {"21": "emergency"}}},
    }  # fmt: skip
    (sites / "RAB.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    assert [o.status for o in ingest_all(sites)] == ["loaded"]

    config["mappings"]["inpatient_spells"]["admission_method"]["21"] = "other"
    (sites / "RAB.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (outcome,) = ingest_all(sites)
    assert outcome.status == "up_to_date"
    assert outcome.note == (
        "config changed: code map of admission_method of source RAB/pas; it applies to new rows only (the source "
        "is incremental). To apply it to rows loaded before, run: benefits backfill --site RAB --source pas "
        "--from 2018-01 --to 2018-01"
    )
    assert warehouse().scalar("select admission_method from staging.inpatient_spells") == "emergency"  # untouched

    # The advice works: the backfill applies the change to history, and the run stops saying it.
    settings, site = load_settings(), load_site(sites / "RAB.yaml")
    result = backfill(settings, site, [site], month_range("2018-01", "2018-01"), sources=["pas"], rebuild=False)
    assert result.ok, result.outcomes
    assert warehouse().scalar("select admission_method from staging.inpatient_spells") == "other"
    assert [(o.status, o.note) for o in ingest_all(sites)] == [("up_to_date", None)]


def test_where_the_files_are_and_how_they_are_fetched_is_not_a_change(home, tmp_path):
    sites, config = _site(tmp_path)
    wards = config["mappings"]["patient_safety_incidents"]["ward_code"] = ["W0", "W1", "W2"]
    (sites / "RAA.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    ingest_all(sites)
    moved = tmp_path / "moved"
    (tmp_path / "drop").rename(moved)
    options = config["sources"][0]["options"]
    options.update(path=str(moved / "*.csv"), retries=5, timeout_seconds=10)
    wards.reverse()  # the allowed codes, listed in another order
    (sites / "RAA.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    assert [(o.status, o.note) for o in ingest_all(sites)] == [("up_to_date", None)]


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_a_warehouse_from_before_config_hashes_upgrades_and_reprocesses_once(
    engine, home, tmp_path, request, monkeypatch
):
    if engine == "postgresql":
        monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", request.getfixturevalue("pg_url"))
        runtime.reset()
    sites, _ = _site(tmp_path)
    ingest_all(sites)
    wh = warehouse()
    wh.execute("alter table meta.load_batch drop column config_hash")  # as an older version left it

    (upgraded,) = ingest_all(sites)  # the column comes back without a manual step
    assert upgraded.status == "loaded"
    assert upgraded.note == (
        "config not recorded for the rows of source RAA/incidents loaded so far; reprocessing 2 files"
    )
    assert wh.scalar("select count(*) from staging.patient_safety_incidents") == 20
    assert [(o.status, o.note) for o in ingest_all(sites)] == [("up_to_date", None)]
