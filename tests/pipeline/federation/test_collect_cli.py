"""`benefits collect` on a local exchange folder: a table of packages, one-line errors."""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from pipeline.cli import _register, app
from tests.pipeline.federation.collect_support import frames, site_keys, write_package

_register()


def test_collect_command_reports_each_package(tmp_path, home):
    private, registry = site_keys(tmp_path / "keys", ["RAA", "RBB"])
    root = tmp_path / "exchange"
    good = write_package(root / "inbox", private["RAA"], "RAA", "2025-04", "2025-06", dt.datetime(2025, 7, 10, 9))
    data = frames("RBB", "2025-04", "2025-06")
    data["measures"].loc[0, "numerator"] = 4.0
    bad = write_package(root / "inbox", private["RBB"], "RBB", "2025-04", "2025-06", dt.datetime(2025, 7, 11, 9), data=data)
    url = f"duckdb:///{tmp_path / 'collector.duckdb'}"
    res = CliRunner().invoke(app, ["collect", "--from", str(root), "--keys", str(registry), "--warehouse", url,
                                   "--today", "2026-12-04"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert good.name in res.output and bad.name in res.output
    assert "1 accepted, 1 rejected" in res.output
    assert "numerator 4 is from 1 to the threshold 7" in res.output
    assert (root / "accepted" / good.name).is_dir() and (root / "rejected" / bad.name).is_dir()


def test_collect_command_names_a_missing_registry(tmp_path, home):
    res = CliRunner().invoke(app, ["collect", "--from", str(tmp_path), "--keys", str(tmp_path / "nope.txt")])
    assert res.exit_code == 2
    assert "key registry" in res.output and "nope.txt does not exist" in res.output
    assert "Traceback" not in res.output


def test_collect_command_adds_the_blueprints_page(tmp_path, home):
    """A federated collector has no site configs; the Blueprints page comes from the files alone."""
    import yaml

    private, registry = site_keys(tmp_path / "keys", ["RAA"])
    root = tmp_path / "exchange"
    write_package(root / "inbox", private["RAA"], "RAA", "2025-04", "2025-06", dt.datetime(2025, 7, 10, 9))
    shared = tmp_path / "blueprints"
    shared.mkdir()
    bp = {"format": "nhs-benefits-blueprint/1", "made": "2026-11-30", "from_site": "RAA",
          "benefits": [{"id": "RAA-EPMA-01", "title": "Fewer omitted doses", "project": "ePMA",
                        "measure": "omitted_critical_doses_rate",
                        "result": {"status": "realised", "its_effect_scale": "rate_ratio", "effect_latest": 0.8,
                                   "effect_latest_low": 0.7, "effect_latest_high": 0.9}}]}  # fmt: skip
    (shared / "raa.yaml").write_text(yaml.safe_dump(bp))
    (shared / "notes.yml").write_text("just: some notes\n")
    out = tmp_path / "report"
    res = CliRunner().invoke(app, ["collect", "--from", str(root), "--keys", str(registry), "--warehouse",
                                   f"duckdb:///{tmp_path / 'collector.duckdb'}", "--today", "2026-12-04",
                                   "--report", str(out), "--blueprints", str(shared)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "refused notes.yml: not a Blueprint of format nhs-benefits-blueprint/1 (format: None)" in res.output
    assert "collected 1 Blueprint file(s), 1 benefit(s); refused 1" in res.output
    page = (out / "blueprints.html").read_text()
    assert 'data-benefit-id="RAA-EPMA-01"' in page and 'data-field="effect_latest" data-format="ratio" data-value="0.8"' in page
    assert 'href="blueprints.html"' in (out / "national.html").read_text()
