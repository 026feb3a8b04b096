"""The import rules of docs/architecture.md hold: imports point down the layers, Prefect stays in
flows and the command line, the benefits engine stays a domain core (import-linter contracts in
pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Both on one worker, whatever the grouping in conftest.py makes of this file's path: the violation
# test writes a probe module into the repository, which the other test would lint and fail on.
pytestmark = pytest.mark.xdist_group("root")

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "3 kept, 0 broken" in out.stdout


def test_a_violation_is_caught(tmp_path):
    """The check can fail: a stage importing the command line breaks the layers contract."""
    bad = REPO / "pipeline" / "ingest" / "_import_rule_probe.py"
    bad.write_text("import pipeline.cli  # noqa: F401\n")
    try:
        lint = Path(sys.executable).with_name("lint-imports")
        out = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    finally:
        bad.unlink()
    assert out.returncode != 0
    assert "pipeline.ingest._import_rule_probe" in out.stdout
