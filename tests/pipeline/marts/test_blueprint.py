"""A Blueprint exported from one demo trust imports into another and validates as its register
entries (issue 17 section 5): definitions, result with interval and shared evidence travel; counts,
unshared evidence and the sending trust's dates and investment do not become the receiver's."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from benefits.register import Benefit
from pipeline.cli import _register, app
from pipeline.config.sites import load_site


def test_export_then_import_into_another_trust(duck, tmp_path, monkeypatch):
    _register()
    runner = CliRunner()
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", duck.wh.url)
    # RF4's ePMA benefit with one shared and one private evidence item.
    rf4_file = duck.sites_dir / "RF4.yaml"
    original = rf4_file.read_text()
    site = yaml.safe_load(original)
    epma = next(b for b in site["benefits"] if b["id"] == "RF4-EPMA-01")
    epma["evidence"] = [
        {"date": "2018-03-14", "kind": "quote", "text": "Rounds are calmer", "author": "Ward manager", "share": True},
        {"date": "2018-04-01", "kind": "narrative", "text": "Internal only", "author": "Pharmacist"},
    ]
    rf4_file.write_text(yaml.safe_dump(site, sort_keys=False))
    try:
        out = tmp_path / "epma.yaml"
        result = runner.invoke(app, ["blueprint", "export", "RF4-EPMA-01", "--site", "RF4", "--sites", str(duck.sites_dir),
                                     "--out", str(out)])  # fmt: skip
        assert result.exit_code == 0, result.output
    finally:
        rf4_file.write_text(original)
    bp = yaml.safe_load(out.read_text())
    (entry,) = bp["benefits"]
    latest = duck.wh.query("select * from local_rf4.fact_benefit where is_latest and benefit_id = 'RF4-EPMA-01'").iloc[0]
    assert entry["result"]["effect_latest"] == latest["effect_latest"]
    assert entry["result"]["effect_latest_low"] == latest["effect_latest_low"] and entry["result"]["status"] == latest["status"]
    assert [e["text"] for e in entry["evidence"]] == ["Rounds are calmer"]  # only what the site shares
    assert len(entry["measure_definition_sha256"]) == 64
    text = out.read_text()
    assert "observed_since_go_live" not in text and "counterfactual" not in text and "numerator" not in text

    result = runner.invoke(app, ["blueprint", "import", str(out), "--site", "RRK", "--sites", str(duck.sites_dir),
                                 "--out", str(tmp_path / "proposed.yaml")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "proposed 1 register entry for RRK from RF4" in result.output and "set go_live" in result.output
    (proposed,) = yaml.safe_load((tmp_path / "proposed.yaml").read_text())["benefits"]
    assert proposed["id"] == "RRK-EPMA-01" and proposed["measure"] == "omitted_critical_doses_rate"
    assert "investment" not in proposed and "evidence" not in proposed
    Benefit.model_validate(proposed)
    # Dropped into RRK's register it loads like any entry.
    rrk = yaml.safe_load((duck.sites_dir / "RRK.yaml").read_text())
    rrk["benefits"] = [*rrk.get("benefits", []), proposed]
    (tmp_path / "RRK.yaml").write_text(yaml.safe_dump(rrk, sort_keys=False))
    assert "RRK-EPMA-01" in [b.id for b in load_site(tmp_path / "RRK.yaml").benefit_list]


def test_import_refuses_a_measure_the_site_does_not_have(duck, tmp_path):
    _register()
    bp = {"format": "nhs-benefits-blueprint/1", "from_site": "RF4",
          "benefits": [{"id": "RF4-X", "title": "x", "measure": "no_such_measure"}]}  # fmt: skip
    (tmp_path / "bp.yaml").write_text(yaml.safe_dump(bp))
    result = CliRunner().invoke(app, ["blueprint", "import", str(tmp_path / "bp.yaml"), "--site", "RRK",
                                      "--sites", str(duck.sites_dir)])  # fmt: skip
    assert result.exit_code == 2 and "no_such_measure" in result.output and "RRK" in result.output
