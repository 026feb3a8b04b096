"""Fixtures of the end-to-end tests that run the real command in child processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import demo


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory) -> Path:
    # Child processes get their own Prefect home so they never share a SQLite file with
    # anything else running on the machine.
    return tmp_path_factory.mktemp("prefect_home")


@pytest.fixture(scope="module")
def one_trust(tmp_path_factory, simulated_root) -> Path:
    return demo.write_sites(tmp_path_factory.mktemp("sites"), simulated_root, only=["RF4"])
