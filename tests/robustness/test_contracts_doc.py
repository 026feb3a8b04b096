"""docs/contracts.md is the reference for every dataset contract, and is current (issue 15 #15)."""

from __future__ import annotations

from dataset_contracts.contracts import CONTRACTS
from expectations import contracts_doc
from tests.robustness.cli import benefits, clean_env


def test_committed_contracts_reference_is_current():
    text = contracts_doc.generate()
    assert contracts_doc.DEFAULT_OUTPUT.read_text(encoding="utf-8") == text, "docs/contracts.md is stale: run `benefits docs`"


def test_every_dataset_column_type_and_code_is_documented():
    text = contracts_doc.generate()
    for contract in CONTRACTS.values():
        section = text.split(f"\n## {contract.name}\n", 1)[1].split("\n## ", 1)[0]
        assert contract.description in section
        for col in contract.columns:
            row = next(line for line in section.splitlines() if line.startswith(f"| `{col.name}` |"))
            assert f"| {col.type} |" in row and col.description in row
            for value in col.values or ():
                assert f"`{value}`" in section.split("Code lists:", 1)[1]


def test_benefits_docs_check_covers_the_contracts_reference(tmp_path):
    result = benefits("docs", "--check", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "contracts.md is up to date" in result.stdout
    assert "prefect.yaml is up to date" in result.stdout  # its per-site schedules match deploy/sites/
    assert "sources.yml is up to date" in result.stdout  # a staging and a quarantine table per contract
