"""An error no command handled ends in one line naming it and where; `--debug` shows the traceback."""

from __future__ import annotations

import subprocess
import sys

from tests.robustness.cli import ROOT, assert_one_line_error, clean_env

# A command with a bug, added to the real command line in a child process: the failure path of
# `main` is what is under test, and no shipped command is known to have such a bug.
_SCRIPT = """
import sys
from pipeline import cli

@cli.app.command("boom")
def boom():
    raise RuntimeError("the disk is on fire\\nsecond line of detail")

sys.argv = ["benefits", *sys.argv[1:]]
cli.main()
"""


def _run(tmp_path, *args, **env):
    return subprocess.run([sys.executable, "-c", _SCRIPT, *args], env=clean_env(tmp_path, **env), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_unexpected_error_is_one_line_naming_it_and_where(tmp_path):
    out = assert_one_line_error(_run(tmp_path, "boom"), "RuntimeError: the disk is on fire", "--debug", code=1)
    assert "second line" not in out
    assert len(out.strip().splitlines()) == 1, out


def test_debug_flag_and_variable_show_the_traceback(tmp_path):
    for result in (_run(tmp_path, "--debug", "boom"), _run(tmp_path, "boom", BENEFITS_DEBUG="1")):
        assert result.returncode == 1
        assert "Traceback" in result.stderr and "RuntimeError: the disk is on fire" in result.stderr, result.stderr
