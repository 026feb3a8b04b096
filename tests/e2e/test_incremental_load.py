"""An incremental extract (rows changed since the watermark) merges by key; it never wipes its months."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
import yaml

from pipeline.runtime import warehouse
from tests.support.pipeline import ingest_all

COLUMNS = (
    "spell_id text, site_code text, patient_ref text, ward_code text, admitted_at timestamp, "
    "discharged_at timestamp, admission_method text, main_specialty_code text, discharge_destination text, "
    "updated_at timestamp"
)
T1, T2 = dt.datetime(2018, 2, 1), dt.datetime(2018, 2, 2)  # the first extract, the second


def spell(i: int, updated: dt.datetime, discharged_day: int = 5) -> dict:
    return {
        "spell_id": f"S{i:03d}",
        "site_code": "RAB",
        "patient_ref": f"P{i:03d}",
        "ward_code": "W01",
        "admitted_at": dt.datetime(2018, 1, 1 + i % 20, 10),
        "discharged_at": dt.datetime(2018, 1, 1 + i % 20, 10) + dt.timedelta(days=discharged_day),
        "admission_method": "emergency",
        "main_specialty_code": "300",
        "discharge_destination": "home",
        "updated_at": updated,
    }


def insert(engine, rows):
    cols = list(rows[0])
    with engine.begin() as c:
        c.execute(
            sa.text(f"insert into spells ({', '.join(cols)}) values ({', '.join(':' + k for k in cols)})"), rows
        )


def spells_source(url: str):
    """The PAS's spells table with ten spells from the first extract."""
    source = sa.create_engine(url)
    with source.begin() as c:
        c.execute(sa.text(f"create table spells ({COLUMNS})"))
    insert(source, [spell(i, T1) for i in range(10)])
    return source


def incremental_site(tmp_path, url: str):
    """A sites folder with one trust whose PAS is read incrementally from `url`."""
    sites = tmp_path / "sites"
    sites.mkdir()
    options = {"url": url, "table": "spells", "replication_key": "updated_at"}
    (sites / "RAB.yaml").write_text(
        yaml.safe_dump(
            {
                "ods_code": "RAB",
                "name": "Incremental test trust",
                "trust_type": "acute",
                "region": "London",
                "sources": [{"name": "pas", "connector": "sql", "dataset": "inpatient_spells", "options": options}],
            }
        )
    )
    return sites


def correct_one_add_two(source) -> None:
    """The PAS corrects one discharge (S003, two days later) and records two new spells, in the same month."""
    with source.begin() as c:
        c.execute(
            sa.text("update spells set discharged_at = discharged_at + interval '2 days', updated_at = :t where spell_id = 'S003'"),
            {"t": T2},
        )
    insert(source, [spell(i, T2) for i in (10, 11)])


def test_incremental_batches_merge_by_key(home, tmp_path, pg_url):
    source = spells_source(pg_url)
    sites = incremental_site(tmp_path, pg_url)
    [first] = ingest_all(sites)
    assert first.status == "loaded" and first.rows_loaded == 10

    correct_one_add_two(source)
    [second] = ingest_all(sites)
    assert second.status == "loaded" and second.rows_in == 3

    wh = warehouse()
    staged = wh.query("select spell_id, discharged_at, _batch_id from staging.inpatient_spells order by spell_id")
    assert list(staged["spell_id"]) == [f"S{i:03d}" for i in range(12)]
    corrected = staged.set_index("spell_id").loc["S003"]
    assert str(corrected["discharged_at"]).startswith("2018-01-11") and corrected["_batch_id"] == second.batch_id
    assert (staged.set_index("spell_id").loc["S000", "_batch_id"]) == first.batch_id
    batches = wh.query("select batch_id, superseded_by from meta.load_batch order by loaded_at")
    assert batches["superseded_by"].isna().all()  # the first batch still holds most of January

    [third] = ingest_all(sites)
    assert third.status == "up_to_date"
    source.dispose()
