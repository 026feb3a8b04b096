"""The README's command table lists every command, and names the roles `grant` creates (issue 15 #19)."""

from __future__ import annotations

import re

import typer.main

from pipeline.cli import _register, app
from pipeline.warehouse.grants import plan_roles
from tests.robustness.cli import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_command_is_in_the_readme_command_table():
    _register()
    table = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`benefits ([a-z-]+)", table))
    commands = set(typer.main.get_command(app).commands)
    assert commands <= listed, sorted(commands - listed)


def test_the_readme_names_the_roles_grant_creates():
    plan = plan_roles([], database="benefits")  # the README's example database
    line = next(line for line in README.splitlines() if line.startswith("benefits warehouse grant"))
    assert plan.loader in line and plan.national_reader in line and "benefits_site_<ods>_reader" in line


def test_roles_default_to_the_database_name_as_prefix(monkeypatch):
    """Roles are server-wide: two warehouses on one server get their own without anyone choosing."""
    monkeypatch.delenv("BENEFITS_ROLE_PREFIX", raising=False)
    a, b = plan_roles([], database="benefits"), plan_roles([], database="Trust-Test 2")
    assert (a.loader, a.national_reader) == ("benefits_loader", "benefits_national_reader")
    assert (b.loader, b.national_reader) == ("trust_test_2_loader", "trust_test_2_national_reader")
    assert plan_roles([], database="2026data").loader == "_2026data_loader"
    monkeypatch.setenv("BENEFITS_ROLE_PREFIX", "")
    assert plan_roles([], database="benefits").loader == "loader"  # an explicit empty prefix
    assert plan_roles([], prefix="x_", database="benefits").loader == "x_loader"
