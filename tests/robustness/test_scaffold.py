"""The scaffolded connector's test runs with the command `benefits connectors new` prints, inside
a checkout whose pytest settings expect pytest-xdist (issue 15 #14)."""

from __future__ import annotations

import re
import shutil
import subprocess

from tests.robustness.cli import ROOT, benefits, clean_env


def test_the_printed_test_command_runs_the_scaffolded_test(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(ROOT / "pyproject.toml", checkout)  # the repository's pytest addopts: -n 2 --dist loadgroup
    env = clean_env(tmp_path)
    made = benefits("connectors", "new", "rf4_datix", "--dir", "connectors_local", env=env, cwd=checkout)
    assert made.returncode == 0, made.stderr
    command = re.search(r"run `([^`]+)`", made.stdout.replace("\n", " ")).group(1)
    # as on a machine without pytest-xdist, where `-n 2` is an unknown option
    env["PYTEST_ADDOPTS"] = "-p no:xdist"
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(command, shell=True, cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout
