"""The SQLAlchemy pin names Prefect's `asyncio` extra, so pip resolves it in one step instead of
backtracking through wheels (issue 15 #13)."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement

from tests.robustness.cli import ROOT


def test_sqlalchemy_is_pinned_with_the_extra_prefect_needs():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (sqlalchemy,) = [Requirement(d) for d in deps if Requirement(d).name == "sqlalchemy"]
    assert "asyncio" in sqlalchemy.extras
    assert not sqlalchemy.specifier.contains("2.1.0") and sqlalchemy.specifier.contains("2.0.58")
