"""Several sites loading into one PostgreSQL warehouse at once: no deadlocks, no lost or doubled
rows, and no batch ever half-visible to a reader; the same source started twice at once loads
once. The result must equal loading the sites one after another."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from pipeline.ingest.source import ingest_source
from pipeline.warehouse.locks import load_lock
from pipeline.runtime import get_sites, prepare_warehouse, validator, warehouse
from pipeline.config.settings import load_settings
from tests.conftest import _drop_pg_database, _fresh_pg_database
from tests.flows.conftest import tiny_sites
from tests.support.pipeline import AS_OF, ingest_all
from tests.support.warehouse import schema_tables, table_checksum

SITES = ["TA1", "TB1", "TC1"]
RUN_COLUMNS = ("extracted_at", "loaded_at", "validated_at", "updated_at", "flow_run_id")


def loaded_state(url: str) -> dict[str, str]:
    engine = sa.create_engine(url)
    try:
        tables = [t for t in schema_tables(engine, ["staging", "quarantine"]) if not t.split(".")[1].startswith("stg_")]
        tables += ["meta.load_batch", "meta.dq_result", "meta.watermark"]
        return {t: table_checksum(engine, t, exclude=RUN_COLUMNS) for t in tables}
    finally:
        engine.dispose()


class SnapshotChecker(threading.Thread):
    """Reads the warehouse in repeatable-read snapshots while loads run: in every snapshot each
    loaded batch has exactly its rows in staging, and no staging row lacks its batch record."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.engine = sa.create_engine(url, isolation_level="REPEATABLE READ")
        self.stop = threading.Event()
        self.snapshots = 0
        self.violations: list[str] = []
        self.batches_seen: set[str] = set()

    def run(self) -> None:
        # One snapshot is always taken after stop is set, so every batch committed before then is
        # seen even when the last load commits during a snapshot.
        while True:
            last = self.stop.is_set()
            with self.engine.connect() as c:
                counts = dict(
                    c.execute(
                        sa.text("select _batch_id, count(*) from staging.medication_administrations group by 1")
                    ).fetchall()
                )
                loaded = dict(
                    c.execute(
                        sa.text(
                            "select batch_id, rows_loaded from meta.load_batch "
                            "where status = 'loaded' and dataset = 'medication_administrations'"
                        )
                    ).fetchall()
                )
                c.rollback()
            self.snapshots += 1
            self.batches_seen |= set(loaded)
            for batch, n in counts.items():
                if loaded.get(batch) != n:
                    self.violations.append(f"{batch}: {n} rows visible, batch record says {loaded.get(batch)}")
            for batch, n in loaded.items():
                if counts.get(batch, 0) != n:
                    self.violations.append(f"{batch}: recorded {n} rows, {counts.get(batch, 0)} visible")
            if last:
                break
        self.engine.dispose()


@pytest.mark.postgres
def test_concurrent_site_loads(home, tiny_root, tmp_path, pg_url, monkeypatch):
    from pipeline import runtime

    sites_dir = tiny_sites(tmp_path / "sites", tiny_root, SITES)

    # Reference: the same sites loaded one after another, in a database of its own.
    admin, name, sequential_url = _fresh_pg_database("benefits_seq")
    try:
        monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", sequential_url)
        runtime.reset()
        assert {o.status for o in ingest_all(sites_dir)} == {"loaded"}
        runtime.reset()
        expected = loaded_state(sequential_url)
    finally:
        _drop_pg_database(admin, name)

    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", pg_url)
    settings = load_settings()
    sites = {s.ods_code: s for s in get_sites(sites_dir)}
    wh = warehouse(settings)
    prepare_warehouse(wh, list(sites.values()))
    with wh.connect() as c:
        deadlocks_before = c.execute(sa.text("select deadlocks from pg_stat_database where datname = current_database()")).scalar()

    def load(site_code: str, source_name: str):
        site = sites[site_code]
        source = next(s for s in site.sources if s.name == source_name)
        with load_lock(wh, site_code, source_name):
            return ingest_source(wh, site, source, settings=settings, validator=validator(wh), as_of=AS_OF)

    # Every source of every site at once, and one site's ePMA twice (a rerun started while the
    # scheduled run is still loading).
    jobs = [(s.ods_code, src.name) for s in sites.values() for src in s.sources] + [(SITES[0], "epma")]
    checker = SnapshotChecker(pg_url)
    checker.start()
    try:
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            outcomes = list(pool.map(lambda j: load(*j), jobs))
    finally:
        checker.stop.set()
        checker.join()

    statuses = [o.status for o in outcomes]
    assert statuses.count("loaded") == len(jobs) - 1 and statuses.count("up_to_date") == 1
    assert checker.snapshots > 3 and not checker.violations, checker.violations[:5]
    assert len(checker.batches_seen) == len(SITES)
    with wh.connect() as c:
        deadlocks_after = c.execute(sa.text("select deadlocks from pg_stat_database where datname = current_database()")).scalar()
    assert deadlocks_after == deadlocks_before
    runtime.reset()
    assert loaded_state(pg_url) == expected
