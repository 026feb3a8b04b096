"""Each rule of each dataset's suite: a deliberately broken fixture fails for that rule, by the right count.

Fixtures are contract-native CSV files (tests/expectations/fixtures.py) validated the way
`benefits validate` does it: files connector, harmonise, Great Expectations in a scratch DuckDB,
and the quarantine predicates for the rows that would be quarantined.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dataset_contracts.contracts import CONTRACTS, get_contract
from tests.expectations.fixtures import (
    AS_OF,
    TABLE_LEVEL,
    break_rule,
    clean_rows,
    fixture_name,
    rules_for,
    site_config,
    write_csv,
)

CASES = [(ds, r.name) for ds in CONTRACTS for r in rules_for(ds) if r.name not in TABLE_LEVEL]


def _validate(file_validator, tmp_path, dataset, rows):
    path = write_csv(tmp_path / fixture_name(dataset), get_contract(dataset), rows)
    return file_validator.validate(dataset, path, site=site_config(), as_of=AS_OF)


@pytest.mark.parametrize("dataset", sorted(CONTRACTS))
def test_clean_fixture_passes_every_rule(file_validator, tmp_path, dataset):
    report = _validate(file_validator, tmp_path, dataset, clean_rows(dataset, n=12))
    assert report.failed() == {}
    assert (report.total_rows, report.valid_rows, report.quarantined_rows) == (12, 12, 0)
    assert not report.held and report.drift == []


@pytest.mark.parametrize("dataset,rule_name", CASES, ids=[f"{d}:{r}" for d, r in CASES])
def test_broken_fixture_fails_for_its_rule(file_validator, tmp_path, dataset, rule_name):
    contract = get_contract(dataset)
    rule = next(r for r in rules_for(dataset) if r.name == rule_name)
    rows = clean_rows(dataset, n=12)
    broken = [2, 5, 7] if rule.unique_columns else [2, 5]
    expected = break_rule(contract, rule, rows, broken)

    report = _validate(file_validator, tmp_path, dataset, rows)

    assert report.failed() == expected
    assert report.result(rule_name).unexpected_count == expected[rule_name]
    severities = {report.result(name).rule.severity for name in expected}
    if severities == {"warning"}:
        assert report.quarantined_rows == 0  # recorded only
    else:
        assert report.quarantined_rows == len(broken)
    assert report.valid_rows + report.quarantined_rows == report.total_rows == 12


@pytest.mark.parametrize("dataset", ["medication_administrations", "ae_monthly"])
def test_empty_batch_is_held(file_validator, tmp_path, dataset):
    report = _validate(file_validator, tmp_path, dataset, [])
    assert report.failed() == {"batch_not_empty": None}
    assert report.result("batch_not_empty").observed_value == "0"
    assert report.held and report.total_rows == 0


def test_missing_contract_column_in_the_batch_table_fails_required_columns(file_validator):
    """Harmonise always delivers every column, so this guards the landing table itself."""
    contract = get_contract("inpatient_spells")
    wh = file_validator.warehouse
    rows = clean_rows("inpatient_spells", n=5)
    cols = [c for c in contract.column_names if c != "ward_code"]
    values = ", ".join("(" + ", ".join(f"'{r[c]}'" if r[c] else "null" for c in cols) + ", null, null, null)" for r in rows)
    with wh.begin() as conn:
        conn.execute(sa.text("drop table if exists landing.no_ward"))
        conn.execute(
            sa.text(
                f"create table landing.no_ward as select * from (values {values}) "
                f"v({', '.join(cols)}, _source_file, _period, _conform_errors)"
            )
        )
    rules = [r for r in rules_for("inpatient_spells") if r.name in ("required_columns_present", "batch_not_empty")]
    results = {r.rule.name: r for r in file_validator.validator.validate("landing", "no_ward", rules, 5)}
    assert not results["required_columns_present"].passed
    assert results["required_columns_present"].observed_value == "missing: ward_code"
    assert results["required_columns_present"].holds_batch
    assert results["batch_not_empty"].passed


def test_every_rule_is_documented():
    from pathlib import Path

    from expectations.rules import build_rules

    doc = (Path(__file__).resolve().parents[2] / "docs" / "contracts.md").read_text()
    for name, contract in CONTRACTS.items():
        section = doc.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        for rule in build_rules(contract):
            assert f"`{rule.name}` | {rule.category} | {rule.severity} | `{rule.gx_type}` |" in section, (name, rule.name)
