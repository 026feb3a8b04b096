"""`benefits connectors list|new`, `benefits extract`, and plug-ins found through entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from connectors import registry
from dataset_contracts.contracts import get_contract
from pipeline.cli import _register, app
from tests.connectors.sources import INCIDENT_COLUMNS, incident_rows, write_csv

ROOT = Path(__file__).resolve().parents[2]
_register()
runner = CliRunner()


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A site's own connector package, installed the way pip installs one (dist-info + entry point)."""
    site = tmp_path / "site-packages"
    pkg = site / "rf4_connectors"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from pydantic import Field, SecretStr
        from connectors import Connector, ConnectorConfig, secret_field

        class DatixConfig(ConnectorConfig):
            host: str = Field(description="Datix web services host")
            password: SecretStr = secret_field(description="service account password")

        class DatixConnector(Connector):
            name = "rf4_datix"
            dataset = "patient_safety_incidents"
            config_model = DatixConfig
            description = "RF4's Datix incidents"
    '''))
    dist = site / "rf4_connectors-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rf4-connectors\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[benefits.connectors]\nrf4_datix = rf4_connectors:DatixConnector\n"
        "files = rf4_connectors:DatixConnector\nbroken = rf4_connectors:Missing\n"
    )
    monkeypatch.syspath_prepend(str(site))
    registry._entry_points.cache_clear()
    yield
    registry._entry_points.cache_clear()


def test_plugins_through_the_entry_point_group(plugin):
    assert registry.get_connector("rf4_datix").__name__ == "DatixConnector"
    assert registry.get_connector("files").__module__ == "connectors.files"  # a plug-in never replaces a built-in
    result = runner.invoke(app, ["connectors", "list", "--json"])
    assert result.exit_code == 0, result.output
    infos = {i["name"]: i for i in json.loads(result.output)}
    assert infos["rf4_datix"]["secret_fields"] == ["password"] and infos["rf4_datix"]["dataset"] == "patient_safety_incidents"
    assert "Missing" in infos["broken"]["error"]
    assert {"files", "sql", "rest", "fhir", "nhs_statistics", "ods"} <= set(infos)
    assert infos["rest"]["secret_fields"] == ["auth.client_secret", "auth.key", "auth.token"]
    assert infos["sql"]["secret_fields"] == ["password"]


def test_connectors_list_table():
    result = runner.invoke(app, ["connectors", "list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for text in ("files", "sql", "rest", "fhir", "nhs_statistics", "ods", "ae_monthly", "auth.client_secret", "url*"):
        assert text in result.output


def test_extract_writes_exactly_the_contract_columns(tmp_path):
    write_csv(tmp_path / "drop" / "inc_2024-03.csv", incident_rows(1, 6, __import__("datetime").datetime(2024, 3, 1)))
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"path": "drop/*.csv", "columns": INCIDENT_COLUMNS}))
    out, state = tmp_path / "out.parquet", tmp_path / "state.json"
    args = ["extract", "--connector", "files", "--config", f"@{cfg}", "--dataset", "patient_safety_incidents",
            "--output", str(out), "--state-file", str(state)]
    limited = runner.invoke(app, [*args, "--limit", "2"])
    assert limited.exit_code == 0, limited.output
    assert pq.read_metadata(out).num_rows == 2 and not state.exists()
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert pq.read_schema(out).names == get_contract("patient_safety_incidents").column_names
    assert pq.read_metadata(out).num_rows == 6 and json.loads(state.read_text())["files"]
    second = runner.invoke(app, args)
    assert "0 rows" in second.output and pq.read_metadata(out).num_rows == 0


def test_extract_reports_a_bad_config(tmp_path):
    result = runner.invoke(app, ["extract", "--connector", "files", "--config", '{"path": "nothing/*.csv"}',
                                 "--dataset", "patient_safety_incidents", "--output", str(tmp_path / "o.parquet")])
    assert result.exit_code == 1 and "no files match" in result.output
    result = runner.invoke(app, ["extract", "--connector", "files", "--config", '{"path": 1',
                                 "--output", str(tmp_path / "o.parquet")])
    assert result.exit_code == 2 and "not valid JSON" in result.output


@pytest.mark.slow
def test_scaffold_passes_the_kit(tmp_path):
    result = runner.invoke(app, ["connectors", "new", "rf4_datix", "--dir", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "site").iterdir())
    assert files == ["rf4_datix.example.json", "rf4_datix.py", "rf4_datix_sample.jsonl", "test_rf4_datix.py"]
    assert len((tmp_path / "site" / "test_rf4_datix.py").read_text().strip().splitlines()) == 4  # one-line test
    again = runner.invoke(app, ["connectors", "new", "rf4_datix", "--dir", str(tmp_path / "site")])
    assert again.exit_code == 1 and "--force" in again.output
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path / "site"),
         str(tmp_path / "site" / "test_rf4_datix.py")],
        cwd=tmp_path / "site", env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "8 passed, 1 skipped" in proc.stdout, proc.stdout[-1500:]  # skipped: no secret in the example config


def test_a_built_in_connector_is_found_by_its_file_not_listed(tmp_path):
    # connectors/<name>.py with the class whose name is "<name>": nothing else to register
    (tmp_path / "crm.py").write_text('class CrmConnector(Connector):\n    name = "crm"\n')
    (tmp_path / "helpers.py").write_text('class Paginator:\n    name = "crm"\n')  # not named for its file
    (tmp_path / "other.py").write_text('class OtherConnector(Connector):\n    name = "crm_v2"\n')
    assert registry.connector_modules(tmp_path, "pkg") == {"crm": "pkg.crm:CrmConnector"}
    found = registry.builtins()
    assert {"files", "sql", "rest", "fhir", "nhs_statistics", "ods"} <= set(found)
    for name in found:
        assert registry.get_connector(name).name == name
