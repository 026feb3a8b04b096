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


def assert_clean_failure(
    result: subprocess.CompletedProcess, names: tuple[str, ...] | list[str] = (), code: int | None = 2
) -> str:
    """The one check of every bad input given to the command line: it failed with exit `code`, in
    a message naming each of `names` (the file, row, field, option or variable to fix), with no
    traceback (`--debug` is what shows one), and said it in a few lines, not a log."""
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    if code is not None:
        assert result.returncode == code, out
    assert "Traceback" not in out, out
    for name in names:
        assert name in out, f"{name!r} not named in:\n{out}"
    assert len([line for line in out.splitlines() if line.strip()]) <= 12, out
    return out


def assert_one_line_error(result: subprocess.CompletedProcess, *must_name: str, code: int | None = None) -> str:
    return assert_clean_failure(result, must_name, code)


def assert_accounted(wh, batch_id: str) -> dict:
    """Every row a batch read is either loaded or quarantined, in meta.load_batch and in the
    tables themselves: a row neither staged nor quarantined is a row lost."""
    (batch,) = wh.query(
        "select dataset, rows_in, rows_loaded, rows_quarantined from meta.load_batch where batch_id = :b", {"b": batch_id}
    ).to_dict("records")
    assert batch["rows_in"] == batch["rows_loaded"] + batch["rows_quarantined"], batch
    staged = wh.scalar(f"select count(*) from staging.{batch['dataset']} where _batch_id = :b", {"b": batch_id})
    held = wh.scalar(f"select count(*) from quarantine.{batch['dataset']} where _batch_id = :b", {"b": batch_id})
    assert (staged, held) == (batch["rows_loaded"], batch["rows_quarantined"]), (batch, staged, held)
    return batch
