"""Bad settings, folders and warehouses end `benefits run` in seconds, in one line naming what to
fix, before Prefect starts (issue 15 #5, #6)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.robustness.cli import ROOT, assert_one_line_error, benefits, clean_env

# Well under the 78-97 s the slowest of these took before the checks, with room for a slow CI box.
FAST = 30


def _site_dir(tmp_path: Path) -> Path:
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "RAA.yaml").write_text("ods_code: RAA\nname: A trust\ntrust_type: acute\nregion: London\n")
    return sites


def _run(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    result = benefits("run", "--sites", str(_site_dir(tmp_path)), *args, env=clean_env(tmp_path, **env), timeout=FAST)
    return result, time.monotonic() - t0


def _assert_short(out: str) -> None:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) <= 2, out


def test_an_unreachable_postgresql_warehouse_fails_at_once(tmp_path):
    result, _ = _run(tmp_path, BENEFITS_WAREHOUSE_URL="postgresql+psycopg://postgres@127.0.0.1:1/x")
    out = assert_one_line_error(result, "BENEFITS_WAREHOUSE_URL", "127.0.0.1", "port 1", code=2)
    _assert_short(out)


def test_a_missing_postgresql_database_is_named(tmp_path):
    result, _ = _run(tmp_path, BENEFITS_WAREHOUSE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/no_such_db_ff")
    _assert_short(assert_one_line_error(result, "BENEFITS_WAREHOUSE_URL", "no_such_db_ff", code=2))


def test_a_malformed_warehouse_url_names_the_option(tmp_path):
    result, _ = _run(tmp_path, "--warehouse", "not a url")
    _assert_short(assert_one_line_error(result, "--warehouse", "duckdb:///", code=2))


def test_an_unsupported_engine_is_named(tmp_path):
    result, _ = _run(tmp_path, BENEFITS_WAREHOUSE_URL="sqlite:///x.db")
    _assert_short(assert_one_line_error(result, "BENEFITS_WAREHOUSE_URL", "sqlite", code=2))


def test_an_unwritable_benefits_home_is_named(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result, _ = _run(tmp_path, BENEFITS_HOME=str(blocker / "home"))
    _assert_short(assert_one_line_error(result, "BENEFITS_HOME", str(blocker / "home"), code=2))


def test_a_prefect_home_whose_parent_is_missing_is_named(tmp_path):
    home = tmp_path / "missing" / "prefect"
    result, _ = _run(tmp_path, PREFECT_HOME=str(home))
    _assert_short(assert_one_line_error(result, "PREFECT_HOME", str(home), code=2))


def test_a_suppression_threshold_that_is_not_a_number_names_the_variable(tmp_path):
    result, _ = _run(tmp_path, BENEFITS_SUPPRESSION_THRESHOLD="abc")
    _assert_short(assert_one_line_error(result, "BENEFITS_SUPPRESSION_THRESHOLD", "abc", code=2))


def test_an_unwritable_summary_json_is_refused_before_the_run(tmp_path):
    target = tmp_path / "no-such-folder" / "summary.json"
    result, seconds = _run(tmp_path, "--summary-json", str(target))
    _assert_short(assert_one_line_error(result, "--summary-json", str(target), code=2))
    assert not (tmp_path / "benefits" / "benefits.duckdb").exists()  # nothing ran


def test_a_locked_duckdb_warehouse_names_the_process_holding_it(tmp_path):
    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(db)!r}); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result, _ = _run(tmp_path, "--warehouse", f"duckdb:///{db}")
        out = assert_one_line_error(result, str(db), f"process {holder.pid}", code=2)
        _assert_short(out)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_a_site_file_that_is_not_utf8_is_named(tmp_path, encoding):
    sites = tmp_path / "bad-sites"
    sites.mkdir()
    (sites / "RAA.yaml").write_bytes("ods_code: RAA\nname: Trust é\ntrust_type: acute\nregion: London\n".encode(encoding))
    result = benefits("run", "--sites", str(sites), env=clean_env(tmp_path), timeout=FAST)
    assert_one_line_error(result, "RAA.yaml", "UTF-8", code=2)


def test_run_wait_waits_for_the_process_holding_the_duckdb_warehouse(tmp_path):
    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ready', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        run = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "run", "--sites", str(_site_dir(tmp_path)), "--warehouse", f"duckdb:///{db}", "--wait"],
            env=clean_env(tmp_path), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        # the holder lets go once the run says it waits, however long a busy machine took to get there
        first = run.stderr.readline()
        holder.kill()
        out, rest = run.communicate(timeout=180)
    finally:
        holder.kill()
        holder.wait()
    assert run.returncode == 0, out + first + rest
    assert f"in use by process {holder.pid}; waiting" in first


@pytest.mark.parametrize(
    "command",
    [("report",), ("quarantine", "list"), ("publish", "--as-of", "2024-01"), ("signals", "list"),
     ("backfill", "--site", "RAA", "--from", "2024-01", "--to", "2024-02"), ("sql", "-c", "select 1")],
)  # fmt: skip
def test_other_commands_name_an_unreachable_warehouse_in_one_line(tmp_path, command):
    args = (*command, "--sites", str(_site_dir(tmp_path))) if command[0] in ("report", "publish", "backfill") else command
    env = clean_env(tmp_path, BENEFITS_WAREHOUSE_URL="postgresql+psycopg://postgres@127.0.0.1:1/x")
    result = benefits(*args, env=env, timeout=FAST)
    _assert_short(assert_one_line_error(result, "BENEFITS_WAREHOUSE_URL", "port 1", code=2))


@pytest.mark.parametrize(
    ("variable", "value"), [("BENEFITS_ALERT_TIMEOUT_SECONDS", "abc"), ("BENEFITS_DUCKDB_MEMORY", "lots")]
)
def test_other_bad_settings_name_the_variable(tmp_path, variable, value):
    result, _ = _run(tmp_path, **{variable: value})
    _assert_short(assert_one_line_error(result, variable, value, code=2))


def test_an_unwritable_report_folder_is_named_as_such(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = benefits("report", "--sites", str(_site_dir(tmp_path)), "-o", str(blocker / "out"), env=clean_env(tmp_path))
    out = assert_one_line_error(result, "--output", str(blocker / "out"), code=2)
    assert "warehouse" not in out
