"""`quarantine show` reads in an 80-column terminal; `quarantine release` says a run is needed
before the marts change (issue 15 #16)."""

from __future__ import annotations

from dataset_contracts.contracts import get_contract
from tests.expectations.fixtures import AS_OF, MAPPINGS, clean_rows, fixture_name, write_csv
from tests.expectations.test_release import MED, SPELLS, _fixed_mappings, _ingest, site_yaml


def test_show_at_80_columns_and_release_says_to_rerun(home, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.cli import _console, _register, app

    drop, sites = tmp_path / "drop", tmp_path / "sites"
    med = clean_rows(MED, n=20)
    med[3]["status"] = "REFUSD"
    write_csv(drop / MED / fixture_name(MED), get_contract(MED), med)
    write_csv(drop / SPELLS / fixture_name(SPELLS), get_contract(SPELLS), clean_rows(SPELLS, n=5))
    site_yaml(sites, drop, MAPPINGS)
    outcome, _ = _ingest(sites, "epma")
    _register()
    runner = CliRunner()
    monkeypatch.setattr(_console.console, "width", 80)

    shown = runner.invoke(app, ["quarantine", "show", outcome.batch_id])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert max(len(line) for line in lines) <= 80, shown.output
    # every value whole on its line, next to its column name
    for name, value in (("status", "REFUSD"), ("administration_id", "MA00003"), ("failed_rules", "status_in_value_set")):
        assert any(line.split()[:2] == [name, value] or (line.split()[:1] == [name] and value in line) for line in lines), shown.output

    site_yaml(sites, drop, _fixed_mappings())
    done = runner.invoke(app, ["quarantine", "release", outcome.batch_id, "--sites", str(sites), "--as-of", AS_OF.isoformat()])
    assert done.exit_code == 0, done.output
    assert "after the next `benefits run`" in done.output
