"""Warehouses for the mart tests: the demo data ingested once into DuckDB, cloned into PostgreSQL.

The ingest path on both engines is the end-to-end tests' business; here the validated rows are
copied as they are (meta, staging, quarantine) so both engines build their marts from exactly
the same data, at a fraction of the cost of ingesting twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import warnings

import pandas as pd
import pytest
import sqlalchemy as sa

from benefits.tables import MART_TABLES
from pipeline.config.sites import SiteConfig
from pipeline.ingest.source import ingest_source
from pipeline.marts.build import build_marts
from pipeline.marts.realise import realise
from pipeline.runtime import get_sites, prepare_warehouse, validator
from pipeline.config.settings import Settings
from pipeline.warehouse.core import Warehouse
from tests.conftest import _drop_pg_database, _fresh_pg_database
from tests.support import demo
from tests.support.xdist import group_by_fixtures
from tests.support.warehouse import COPIED_SCHEMAS, base_tables, clone_loaded_data  # noqa: F401  (used by tests)

# Three trusts in two regions and two trust types, plus the real A&E publication.
MART_SITES = ["RF4", "RRK", "RV5", "X24"]
AS_OF = dt.datetime(2026, 1, 1)
THRESHOLD = 7


@dataclass
class Built:
    wh: Warehouse
    sites: list[SiteConfig]
    sites_dir: Path
    settings: Settings

    @property
    def trusts(self) -> list[SiteConfig]:
        return [s for s in self.sites if s.role == "trust"]

    def build(self, *, benefits: bool = True, **kwargs) -> list[str]:
        built = build_marts(self.wh, self.sites, suppression_threshold=kwargs.pop("threshold", THRESHOLD), **kwargs)
        if not benefits:
            return built
        try:
            realise(self.wh, self.sites)
        except Exception as exc:  # noqa: BLE001  (the benefits engine is not under test here)
            warnings.warn(f"realise failed ({type(exc).__name__}: {exc}); fact tables of the benefits engine left empty")
            empty_benefit_tables(self.wh, self.trusts)
        return built


def empty_benefit_tables(wh: Warehouse, trusts: list[SiteConfig]) -> None:
    with wh.begin() as conn:
        for spec in MART_TABLES:
            schemas = (["national"] if "national" in spec.scopes else []) + (
                [t.schema for t in trusts] if "local" in spec.scopes else []
            )
            for schema in schemas:
                wh.replace_table(conn, f"{schema}.{spec.name}", pd.DataFrame(columns=list(spec.columns)), spec.types)


@pytest.fixture(scope="package")
def mart_sites_dir(tmp_path_factory, simulated_root) -> Path:
    return demo.write_sites(tmp_path_factory.mktemp("mart_sites"), simulated_root, only=MART_SITES)


@pytest.fixture(scope="package")
def duck(tmp_path_factory, mart_sites_dir) -> Built:
    """The demo sites ingested into a DuckDB warehouse, marts built and benefits realised."""
    home = tmp_path_factory.mktemp("duck_home")
    settings = Settings(home=home, warehouse_url=f"duckdb:///{home / 'benefits.duckdb'}")
    wh = Warehouse(settings.warehouse_url)
    sites = get_sites(mart_sites_dir)
    prepare_warehouse(wh, sites)
    for site in sites:
        for source in site.sources:
            outcome = ingest_source(wh, site, source, settings=settings, validator=validator(wh), as_of=AS_OF)
            assert outcome.status == "loaded", (site.ods_code, source.name, outcome.reason)
    built = Built(wh, sites, mart_sites_dir, settings)
    built.build()
    yield built
    wh.dispose()


def clone(duck: Built, url: str, home: Path, only: list[str] | None = None) -> Built:
    """A new warehouse with `duck`'s loaded data (with `only`, of those sites alone); nothing built yet."""
    sites = [s for s in duck.sites if only is None or s.ods_code in only]
    wh = Warehouse(url)
    prepare_warehouse(wh, sites)
    clone_loaded_data(duck.wh, wh, only)
    return Built(wh, sites, duck.sites_dir, Settings(home=home, warehouse_url=url))


@contextmanager
def pg_clone(duck: Built, prefix: str, home: Path, only: list[str] | None = None) -> Iterator[Built]:
    """`clone` into a fresh PostgreSQL database, dropped afterwards."""
    admin, name, url = _fresh_pg_database(prefix)
    try:
        built = clone(duck, url, home, only)
        try:
            yield built
        finally:
            built.wh.dispose()
    finally:
        _drop_pg_database(admin, name)


@pytest.fixture(scope="package")
def pg(duck, tmp_path_factory) -> Built:
    """The same loaded data in a fresh PostgreSQL database, marts built and benefits realised."""
    with pg_clone(duck, "benefits_marts", tmp_path_factory.mktemp("pg_home")) as built:
        built.build()
        yield built


@pytest.fixture
def duck_copy(duck, tmp_path) -> Built:
    """A private DuckDB warehouse with the same loaded data and nothing built, for tests that change what is built."""
    url = f"duckdb:///{tmp_path / 'copy.duckdb'}"
    built = clone(duck, url, tmp_path)
    yield built
    built.wh.dispose()



# Every test of this package that reads the demo warehouses runs on one xdist worker: the package
# fixtures above (ingest, build and benefits on DuckDB, then the PostgreSQL clone and its build,
# about 30 s) are then built once per run instead of once on each worker.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    group_by_fixtures(items, Path(__file__).parent, {"duck", "pg", "duck_copy"}, "marts-warehouses")
