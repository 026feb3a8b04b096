"""`benefits sql` on either warehouse; commands that only read create no warehouse
(issue 15 #12, #19)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa

from tests.robustness.cli import ROOT, assert_one_line_error, benefits, clean_env


def _duckdb(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema national; create table national.t as select 'RF4' as site_code, 42 as n")
    con.close()
    return path


def test_sql_c_prints_a_query_on_the_configured_duckdb_warehouse(tmp_path):
    env = clean_env(tmp_path)
    (tmp_path / "benefits").mkdir()
    _duckdb(tmp_path / "benefits" / "benefits.duckdb")
    result = benefits("sql", "-c", "select site_code, n from national.t", env=env)
    assert result.returncode == 0, result.stderr
    assert "RF4" in result.stdout and "42" in result.stdout and "(1 row)" in result.stdout


def test_sql_is_read_only_unless_asked(tmp_path):
    url = f"duckdb:///{_duckdb(tmp_path / 'w.duckdb')}"
    result = benefits("sql", "--warehouse", url, "-c", "drop table national.t", env=clean_env(tmp_path))
    assert_one_line_error(result, "read-only", code=1)
    result = benefits("sql", "--warehouse", url, "--write", "-c", "drop table national.t", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr


def test_sql_errors_are_one_line_and_keep_brackets(tmp_path):
    url = f"duckdb:///{_duckdb(tmp_path / 'w.duckdb')}"
    result = benefits("sql", "--warehouse", url, "-c", "select [1, 2] as l, nope", env=clean_env(tmp_path))
    assert_one_line_error(result, "nope", code=1)


def test_sql_reads_statements_piped_in(tmp_path):
    url = f"duckdb:///{_duckdb(tmp_path / 'w.duckdb')}"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "sql", "--warehouse", url],
        input="select n\nfrom national.t;\nselect 7 as seven;\n",
        env=clean_env(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "42" in done.stdout and "seven" in done.stdout


@pytest.mark.postgres
def test_sql_c_on_postgresql(tmp_path, pg_url):
    engine = sa.create_engine(pg_url)
    with engine.begin() as c:
        c.execute(sa.text("create schema national; create table national.t as select 'RJ1' as site_code"))
    engine.dispose()
    result = benefits("sql", "--warehouse", pg_url, "-c", "select site_code from national.t", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "RJ1" in result.stdout
    result = benefits("sql", "--warehouse", pg_url, "-c", "drop table national.t", env=clean_env(tmp_path))
    assert_one_line_error(result, "read-only", code=1)


@pytest.mark.parametrize(
    "command",
    [("sql", "-c", "select 1"), ("report",), ("quarantine", "list"), ("publish", "--as-of", "2024-01")],
)
def test_commands_that_read_create_no_warehouse_outside_a_project(tmp_path, command):
    env = clean_env(tmp_path)
    del env["BENEFITS_HOME"]  # the default, ./warehouse, under a folder that is not a project
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = benefits(*command, env=env, cwd=outside)
    assert_one_line_error(result, "no warehouse at", "benefits run", code=2)
    assert not (outside / "warehouse" / "benefits.duckdb").exists()
