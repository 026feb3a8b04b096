"""Shared fixtures: real PostgreSQL and MariaDB databases, a Prefect test server, demo sites.

With CI=true the database fixtures fail instead of skipping when a server is unreachable,
because CI must exercise the real engines.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.support import demo
from tests.support.s3server import s3_bucket  # noqa: F401  (fixture: an empty bucket on a local S3 server)

# Same quiet, offline Prefect defaults as the CLI (pipeline/cli/__init__.py) for in-process flows.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("BENEFITS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("BENEFITS_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def _unavailable(what: str, exc: Exception):
    message = f"{what} is not reachable ({type(exc).__name__}: {exc})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


def _fresh_pg_database(prefix: str):
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f'create database "{name}"'))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        _unavailable("PostgreSQL at 127.0.0.1:5432", exc)
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return admin, name, url


def _drop_pg_database(admin, name: str) -> None:
    import sqlalchemy as sa

    with admin.connect() as c:
        c.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


@pytest.fixture
def pg_url():
    """A new, empty PostgreSQL database for one test (dropped afterwards)."""
    admin, name, url = _fresh_pg_database("benefits_test")
    yield url
    _drop_pg_database(admin, name)


@pytest.fixture
def pg_url_2():
    """A second new, empty PostgreSQL database for a test that compares two warehouses."""
    admin, name, url = _fresh_pg_database("benefits_test")
    yield url
    _drop_pg_database(admin, name)


@pytest.fixture(scope="module")
def pg_url_module():
    admin, name, url = _fresh_pg_database("benefits_mod")
    yield url
    _drop_pg_database(admin, name)


@pytest.fixture
def mariadb_url():
    """A new, empty MariaDB database for one test (dropped afterwards)."""
    import sqlalchemy as sa

    name = f"benefits_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(MARIADB_ADMIN_URL)
    try:
        with admin.connect() as c:
            c.execute(sa.text(f"create database `{name}`"))
    except Exception as exc:  # noqa: BLE001
        admin.dispose()
        _unavailable("MariaDB at 127.0.0.1:3306", exc)
    yield sa.engine.make_url(MARIADB_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(sa.text(f"drop database if exists `{name}`"))
    admin.dispose()


@pytest.fixture(scope="session")
def prefect_server():
    """A throwaway Prefect API (SQLite in a temp dir) for every test that runs flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def simulated_root(tmp_path_factory) -> Path:
    """Small simulated extracts for the demo trusts, generated once per test session."""
    return demo.simulate_small(tmp_path_factory.mktemp("simulated"))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An isolated BENEFITS_HOME (warehouse, landing area) for one test."""
    from pipeline import runtime

    h = tmp_path / "home"
    monkeypatch.setenv("BENEFITS_HOME", str(h))
    monkeypatch.delenv("BENEFITS_WAREHOUSE_URL", raising=False)
    runtime.reset()
    yield h
    runtime.reset()


@pytest.fixture
def small_sites(tmp_path, simulated_root) -> Path:
    """A sites folder: the bundled demo configs pointed at the small simulated extracts."""
    return demo.write_sites(tmp_path / "sites", simulated_root)
