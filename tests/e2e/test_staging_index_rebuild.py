"""PostgreSQL (issue 18): a batch that is most of its staging table rebuilds the table's indexes
inside the load's transaction instead of keeping them up to date row by row. Whichever path a load
takes, reruns and incremental loads leave exactly the rows the always-upkeep path leaves, and the
three indexes are there afterwards.

Which path a load took is read from the indexes' OIDs: a rebuild creates new ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dataset_contracts.contracts import get_contract
from pipeline import runtime
from pipeline.ingest import staging_indexes
from pipeline.warehouse.core import Warehouse
from pipeline.warehouse.ddl import ensure_schema, loaded_table_indexes
from tests.e2e.test_incremental_load import correct_one_add_two, incremental_site, spells_source
from tests.support import demo
from tests.support.pipeline import ingest_all

pytestmark = pytest.mark.postgres

NEVER = 2.0  # a share no batch reaches: every load keeps the indexes up to date (the path before)


class Warehouses:
    """The same loads into two PostgreSQL warehouses: one deciding by share, one always upkeep."""

    def __init__(self, tmp_path: Path, monkeypatch, urls: list[str]):
        self.tmp_path, self.monkeypatch = tmp_path, monkeypatch
        self.runs = [(urls[0], staging_indexes.REBUILD_SHARE), (urls[1], NEVER)]

    def load(self, sites: Path, dataset: str) -> list[tuple[bool, bool]]:
        """Each warehouse's (rebuilt, expected to rebuild) for this load of `sites`."""
        contract = get_contract(dataset)
        paths = []
        for i, (url, share) in enumerate(self.runs):
            self.monkeypatch.setenv("BENEFITS_HOME", str(self.tmp_path / f"home_{i}"))
            self.monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", url)
            self.monkeypatch.setattr(staging_indexes, "REBUILD_SHARE", share)
            runtime.reset()
            wh = Warehouse(url)
            try:
                ensure_schema(wh)
                with wh.connect() as conn:
                    before_rows = staging_indexes.table_rows(conn, contract)
                before = index_oids(wh, dataset)
                [outcome] = ingest_all(sites)
                assert outcome.status == "loaded", outcome
                assert outcome.rows_in == outcome.rows_loaded + outcome.rows_quarantined
                after = index_oids(wh, dataset)
                assert_indexes_present(wh, dataset)
                expected = staging_indexes.batch_share(outcome.rows_in, before_rows) >= share
                paths.append((set(after.values()).isdisjoint(before.values()), expected))
                # Either every index is new or none is: nothing rebuilds one index and keeps another.
                assert after == before or set(after.values()).isdisjoint(before.values())
            finally:
                wh.dispose()
        runtime.reset()
        return paths

    def staging(self, dataset: str) -> list[pd.DataFrame]:
        frames = []
        for url, _ in self.runs:
            wh = Warehouse(url)
            try:
                cols = get_contract(dataset).column_names + ["_source_file", "_period", "_batch_id", "_site", "_source_name"]
                frames.append(wh.query(f"select {', '.join(cols)} from staging.{dataset} order by {', '.join(cols)}"))
            finally:
                wh.dispose()
        return frames


def index_oids(wh: Warehouse, dataset: str) -> dict[str, int]:
    rows = wh.query(
        "select c.relname as name, i.indexrelid::bigint as oid from pg_index i join pg_class c on c.oid = i.indexrelid "
        f"where i.indrelid = cast('staging.{dataset}' as regclass)"
    )
    return dict(zip(rows["name"], rows["oid"]))


def assert_indexes_present(wh: Warehouse, dataset: str) -> None:
    got = wh.query(f"select indexname, indexdef from pg_indexes where schemaname = 'staging' and tablename = '{dataset}'")
    wanted = {s.split("exists ")[1].split(" on ")[0]: s.rsplit(" (", 1)[1] for s in loaded_table_indexes("staging", get_contract(dataset))}
    assert sorted(got["indexname"]) == sorted(wanted)
    for name, indexdef in zip(got["indexname"], got["indexdef"]):
        assert indexdef.endswith(f"({wanted[name]}"), (name, indexdef)


def test_reruns_rebuild_or_keep_the_indexes_by_share_and_load_the_same_rows(tmp_path, simulated_root, pg_url, pg_url_2, monkeypatch):
    dataset = "medication_administrations"
    source_dir = simulated_root / "RF4" / dataset
    extracts = tmp_path / "extracts" / dataset
    extracts.mkdir(parents=True)
    config = demo.bundled_configs()["RF4"]
    config.pop("simulation", None)
    config["sources"] = [s for s in config["sources"] if s["name"] == "epma"]
    config["sources"][0]["options"]["path"] = str(extracts / "*.csv")
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "RF4.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    may, june = (f"{dataset}_2017-05.csv", f"{dataset}_2017-06.csv")
    whole_may = pd.read_csv(source_dir / may, dtype=str, keep_default_na=False)
    both = Warehouses(tmp_path, monkeypatch, [pg_url, pg_url_2])

    # 1. The site's first load, of May short of its last 100 rows: the whole table, so rebuilt.
    whole_may.iloc[:-100].to_csv(extracts / may, index=False)
    first = both.load(sites, dataset)
    # 2. May re-exported whole: a rerun replacing that month, more than half of what the rebuild reads.
    whole_may.to_csv(extracts / may, index=False)
    rerun = both.load(sites, dataset)
    # 3. The first days of June added beside it: a small share of the table.
    whole_june = pd.read_csv(source_dir / june, dtype=str, keep_default_na=False)
    whole_june.iloc[: len(whole_june) // 5].to_csv(extracts / june, index=False)
    added = both.load(sites, dataset)

    for paths in (first, rerun, added):
        assert all(took == expected for took, expected in paths), paths
    # The warehouse deciding by share took both paths; the other never rebuilt.
    assert [p[0][0] for p in (first, rerun, added)] == [True, True, False]
    assert not any(p[1][0] for p in (first, rerun, added))

    deciding, upkeep = both.staging(dataset)
    assert len(deciding) > len(whole_may) and deciding["_period"].nunique() == 2
    pd.testing.assert_frame_equal(deciding, upkeep)
    assert deciding.groupby("_period")["_batch_id"].nunique().eq(1).all()  # May's old rows are gone


def test_incremental_loads_rebuild_or_keep_the_indexes_by_share_and_merge_the_same_rows(tmp_path, pg_url, pg_url_2, monkeypatch):
    source = spells_source(pg_url)
    sites = incremental_site(tmp_path, pg_url)
    both = Warehouses(tmp_path, monkeypatch, [pg_url, pg_url_2])
    first = both.load(sites, "inpatient_spells")

    # One corrected discharge and two new spells: 3 rows merged by key into 10.
    correct_one_add_two(source)
    merged = both.load(sites, "inpatient_spells")
    source.dispose()

    assert all(took == expected for took, expected in first + merged), (first, merged)
    assert [first[0][0], merged[0][0]] == [True, False] and not (first[1][0] or merged[1][0])
    deciding, upkeep = both.staging("inpatient_spells")
    pd.testing.assert_frame_equal(deciding, upkeep)
    assert len(deciding) == 12 and deciding["spell_id"].is_unique
    corrected = deciding.set_index("spell_id").loc["S003", "discharged_at"]
    assert corrected == dt.datetime(2018, 1, 4, 10) + dt.timedelta(days=7)
