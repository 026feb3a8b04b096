"""The `fhir` connector: recorded Bundles, next links, flattening, local time, _lastUpdated."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.base import ConnectorError
from connectors.fhir import resolve
from connectors.runner import run_connector
from tests.connectors.fake_api import Reply, recorded
from tests.connectors.sources import FHIR_FIELDS, FHIR_MAPPINGS, fhir_resources, fhir_search


def run(config, dataset="medication_administrations", mappings=FHIR_MAPPINGS, **kw):
    return run_connector("fhir", config, dataset=dataset, mappings=mappings, collect=True, **kw)


def test_follows_recorded_bundle_next_links_and_flattens(fake_api):
    pages = {"1": "fhir/medication_administration_page1.json", "2": "fhir/medication_administration_page2.json"}
    fake_api.route("/fhir/MedicationAdministration", lambda req: Reply(200, recorded(pages[req.q("_page", "1")])))
    result = run({"base_url": f"{fake_api.base}/fhir", "resource_type": "MedicationAdministration",
                  "fields": FHIR_FIELDS, "search": {"status": "completed,not-done"}})
    assert result.rows == 12 and result.conform_errors == 0
    first = result.table.slice(0, 1).to_pylist()[0]
    assert first["administration_id"] == "ma-0001" and first["patient_ref"] == "Patient/p001"
    assert first["drug_code"] == "39720311000001102" and first["dose_value"] == 250 and first["dose_unit"] == "mg"
    # 2024-03-01T14:00+00:00 scheduled: London is on GMT in March, so wall-clock 14:00
    assert first["scheduled_at"] == dt.datetime(2024, 3, 1, 14, 0) and first["ward_code"] == "W02"
    omitted = [r for r in result.table.to_pylist() if r["status"] == "omitted"]
    assert omitted and all(r["omission_reason"] == "NBM" for r in omitted)
    assert fake_api.hits("/fhir/MedicationAdministration")[0].q("status") == "completed,not-done"


def test_summer_times_become_london_wall_clock(fake_api):
    fake_api.route("/fhir/Encounter", lambda req: Reply(200, recorded("fhir/encounter_page1.json")))
    result = run({"base_url": f"{fake_api.base}/fhir", "resource_type": "Encounter"}, dataset="inpatient_spells", mappings={})
    rows = {r["spell_id"]: r for r in result.table.to_pylist()}
    assert len(rows) == 6  # the _include'd Patient is not a row
    assert rows["enc-001"]["admitted_at"] == dt.datetime(2024, 6, 3, 10, 0)  # 10:00+01:00 is 10:00 BST
    assert rows["enc-006"]["discharged_at"] is None and rows["enc-001"]["admission_method"] == "21"
    assert rows["enc-003"]["discharge_destination"] == "54" and rows["enc-002"]["main_specialty_code"] == "100"
    assert rows["enc-004"]["ward_code"] == "W04"


def test_incremental_by_last_updated(fake_api):
    resources = fhir_resources()
    fake_api.route("/fhir/MedicationAdministration", fhir_search(resources, "MedicationAdministration"))
    cfg = {"base_url": f"{fake_api.base}/fhir", "resource_type": "MedicationAdministration", "fields": FHIR_FIELDS,
           "page_size": 4}
    first = run(cfg)
    assert first.rows == 12 and len(fake_api.requests) == 3  # 4 + 4 + 4 through next links
    mark = first.new_state["replication_key_value"]
    assert mark == "2024-03-04T08:50:00.000000Z"  # the newest meta.lastUpdated, in UTC
    second = run(cfg, state=first.new_state)
    assert second.rows == 0 and fake_api.requests[-1].q("_lastUpdated") == f"gt{mark}"


def test_operation_outcome_is_a_clear_error(fake_api):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "invalid",
                                                               "diagnostics": "Unknown search parameter 'foo'"}]}
    fake_api.route("/fhir/Encounter", lambda req: Reply(400, outcome))
    with pytest.raises(ConnectorError, match="HTTP 400.*Unknown search parameter"):
        run({"base_url": f"{fake_api.base}/fhir", "resource_type": "Encounter", "search": {"foo": "1"}},
            dataset="inpatient_spells", mappings={})
    fake_api.route("/fhir/Encounter", lambda req: Reply(200, outcome))
    with pytest.raises(ConnectorError, match="OperationOutcome: error: Unknown search parameter"):
        run({"base_url": f"{fake_api.base}/fhir", "resource_type": "Encounter"}, dataset="inpatient_spells", mappings={})


def test_bundle_next_link_loop(fake_api):
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [],
              "link": [{"relation": "next", "url": "{base}/fhir/Encounter"}]}
    fake_api.route("/fhir/Encounter", lambda req: Reply(200, bundle))
    with pytest.raises(ConnectorError, match="pagination loop"):
        run({"base_url": f"{fake_api.base}/fhir", "resource_type": "Encounter"}, dataset="inpatient_spells", mappings={})


def test_paths():
    r = {"a": [{"system": "x", "code": "1"}, {"system": "https://dmd.nhs.uk", "code": "2"}],
         "ext": [{"url": "https://e.org/a.b", "valueBoolean": False}], "p": {"start": "s"}}
    assert resolve(r, "a[system=https://dmd.nhs.uk].code") == "2"
    assert resolve(r, "a.code") == "1" and resolve(r, "a[1].code") == "2"
    assert resolve(r, "ext[url=https://e.org/a.b].valueBoolean") is False
    assert resolve(r, "missing|p.start") == "s" and resolve(r, "a[5].code") is None
