"""`benefits docs` and `benefits warehouse grant` from the command line."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pipeline import runtime
from pipeline.cli import _register, app
from pipeline.marts.dictionary import DEFAULT_OUTPUT
from pipeline.warehouse.grants import drop_roles, plan_roles


@pytest.fixture(scope="module")
def runner():
    _register()
    return CliRunner()


def test_docs_writes_and_checks_the_dictionary(runner, tmp_path):
    out = tmp_path / "dictionary.md"
    result = runner.invoke(app, ["docs", "--output", str(out), "--check"])
    assert result.exit_code == 1 and "out of date" in result.output
    result = runner.invoke(app, ["docs", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == DEFAULT_OUTPUT.read_text()
    assert runner.invoke(app, ["docs", "--output", str(out), "--check"]).exit_code == 0


@pytest.mark.postgres
def test_warehouse_grant_creates_the_roles(runner, pg, monkeypatch):
    prefix = f"c{uuid.uuid4().hex[:8]}_"
    monkeypatch.setenv("BENEFITS_ROLE_PREFIX", prefix)
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", pg.wh.url)  # restored afterwards: the command sets it too
    runtime.reset()
    plan = plan_roles(pg.sites)
    try:
        result = runner.invoke(app, ["warehouse", "grant", "--warehouse", pg.wh.url, "--sites", str(pg.sites_dir)])
        assert result.exit_code == 0, result.output
        assert f"{prefix}site_rf4_reader" in result.output and "local_rf4, national" in result.output
        assert "@" not in result.output.replace("postgres@", "")  # no credentials echoed beyond the user name
        with pg.wh.connect() as c:
            roles = set(c.execute(sa.text("select rolname from pg_roles where rolname like :p"), {"p": prefix + "%"}).scalars())
        assert roles == set(plan.roles)
    finally:
        drop_roles(pg.wh, plan)
        runtime.reset()


def test_warehouse_grant_refuses_duckdb(runner, duck, monkeypatch):
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", duck.wh.url)
    try:
        result = runner.invoke(app, ["warehouse", "grant", "--warehouse", duck.wh.url, "--sites", str(duck.sites_dir)])
    finally:
        runtime.reset()
    assert result.exit_code == 2 and "PostgreSQL" in result.output
