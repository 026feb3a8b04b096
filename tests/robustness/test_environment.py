"""The command's environment: telemetry defaults, bad variables and folders (issue 15 #5, #11)."""

from __future__ import annotations

import subprocess
import sys

from tests.robustness.cli import ROOT, clean_env


def _python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_command_turns_telemetry_off_before_prefect_is_imported(tmp_path):
    out = _python(
        "import pipeline.cli, os, sys\n"
        "assert 'prefect' not in sys.modules\n"
        "from prefect._internal.analytics.enabled import is_telemetry_enabled\n"
        "print(os.environ['DO_NOT_TRACK'], is_telemetry_enabled())",
        clean_env(tmp_path),
    )
    assert out == "1 False"


def test_a_users_own_telemetry_choice_is_kept(tmp_path):
    out = _python("import pipeline.cli, os; print(os.environ['DO_NOT_TRACK'])", clean_env(tmp_path, DO_NOT_TRACK="0"))
    assert out == "0"
