"""`benefits validate`: a file against a contract, no warehouse; a per-rule table and a JSON report."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dataset_contracts.contracts import get_contract
from pipeline.cli import _register, app
from tests.expectations.fixtures import AS_OF, clean_rows, fixture_name, write_csv
from tests.support import demo


@pytest.fixture(scope="module")
def runner():
    _register()
    return CliRunner()


def test_real_ae_file_passes_with_its_known_warning(runner, tmp_path):
    out = tmp_path / "report.json"
    result = runner.invoke(
        app, ["validate", "--dataset", "ae_monthly", "--input", str(demo.ae_csv()), "--site", "X24", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "emergency_admissions_not_above_attendances" in result.output and "warning" in result.output
    report = json.loads(out.read_text())
    assert {"total_rows", "valid_rows", "quarantined_rows", "expectations"} <= set(report)
    assert report["total_rows"] == report["valid_rows"] == 12765 and report["quarantined_rows"] == 0
    assert not report["held"]
    by_name = {e["name"]: e for e in report["expectations"]}
    for e in report["expectations"]:
        assert {"name", "category", "severity", "unexpected_count", "passed"} <= set(e)
    warning = by_name["emergency_admissions_not_above_attendances"]
    assert (warning["severity"], warning["unexpected_count"], warning["passed"]) == ("warning", 1, False)
    assert all(e["passed"] for e in report["expectations"] if e["severity"] != "warning")


def test_broken_file_reports_quarantined_rows_and_fails(runner, tmp_path):
    dataset = "patient_safety_incidents"
    rows = clean_rows(dataset, n=30)
    rows[4]["harm_level"] = "catastrophic"
    rows[5]["reported_at"] = "2018-06-01 00:00:00"  # before it occurred
    rows[6]["incident_id"] = rows[7]["incident_id"]
    path = write_csv(tmp_path / fixture_name(dataset), get_contract(dataset), rows)
    out = tmp_path / "r.json"
    result = runner.invoke(
        app, ["validate", "-d", dataset, "-i", str(path), "-o", str(out), "--as-of", AS_OF.isoformat()]
    )
    assert result.exit_code == 1, result.output
    report = json.loads(out.read_text())
    assert (report["total_rows"], report["valid_rows"], report["quarantined_rows"]) == (30, 26, 4)
    failed = {e["name"]: e["unexpected_count"] for e in report["expectations"] if not e["passed"]}
    assert failed == {"harm_level_in_value_set": 1, "reported_at_not_before_occurred_at": 1, "incident_id_unique": 2}
    assert "4 would be quarantined" in result.output


def test_unknown_dataset_is_a_usage_error(runner, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    result = runner.invoke(app, ["validate", "--dataset", "beds", "--input", str(path)])
    assert result.exit_code == 2 and "unknown dataset 'beds'" in result.output
