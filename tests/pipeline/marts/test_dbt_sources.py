"""sql/models/sources.yml's dataset tables are written from the contracts: a new contract is there."""

from __future__ import annotations

import dataclasses

import yaml

from dataset_contracts.contracts import CONTRACTS
from pipeline.marts import dbt_sources


def test_every_contract_is_a_staging_and_a_quarantine_source(monkeypatch):
    spells = CONTRACTS["inpatient_spells"]
    new = dataclasses.replace(spells, name="outpatient_appointments", description="One outpatient appointment")
    monkeypatch.setitem(CONTRACTS, new.name, new)
    doc = yaml.safe_load(dbt_sources.generate())
    tables = {s["name"]: {t["name"]: t.get("description") for t in s.get("tables", [])} for s in doc["sources"]}
    for schema in ("staging", "quarantine"):
        assert set(tables[schema]) == set(CONTRACTS)
        assert tables[schema]["outpatient_appointments"].startswith("One outpatient appointment: the rows")
    assert "load_batch" in tables["meta"]  # what is written by hand stays


def test_the_file_in_the_project_is_current():
    assert dbt_sources.generate() == dbt_sources.sources_yml().read_text(encoding="utf-8")
