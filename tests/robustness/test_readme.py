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
    plan = plan_roles([], prefix="")
    line = next(line for line in README.splitlines() if line.startswith("benefits warehouse grant"))
    assert plan.loader in line and plan.national_reader in line
