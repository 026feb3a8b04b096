"""Run the real `benefits` command in a child process, as a user would, with a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Variables a user's shell would not carry; the test runner's own settings must not leak in.
_DROP = ("DO_NOT_TRACK", "BENEFITS_", "PREFECT_", "CI", "GITHUB_ACTIONS")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP)}
    env.update({"BENEFITS_HOME": str(home / "benefits"), "PREFECT_HOME": str(home / "prefect"), "HOME": str(home)})
    env.update(extra)
    return env


def benefits(*args: str, env: dict[str, str], timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=env,
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *must_name: str, code: int | None = None) -> str:
    """The command failed with a short message naming each of `must_name`, and no traceback."""
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    if code is not None:
        assert result.returncode == code, out
    assert "Traceback" not in out, out
    for name in must_name:
        assert name in out, f"{name!r} not named in:\n{out}"
    return out
