"""Batches and lineage: a reloaded period replaces its rows, the same file twice loads once."""

from __future__ import annotations

import shutil

import pandas as pd

from pipeline.runtime import warehouse
from tests.support import demo
from tests.support.pipeline import ingest_all


def month_rows(wh, month: str) -> int:
    return wh.scalar(
        "select count(*) from staging.medication_administrations where _site = 'RF4' and _period = cast(:m as date)",
        {"m": f"{month}-01"},
    )


def test_reloading_a_month_replaces_it(home, tmp_path, simulated_root):
    extracts = tmp_path / "extracts"
    shutil.copytree(simulated_root / "RF4", extracts / "RF4")
    sites = demo.write_sites(tmp_path / "sites", extracts, only=["RF4"])
    first = {o.source_name: o for o in ingest_all(sites)}
    assert all(o.status == "loaded" for o in first.values())
    wh = warehouse()
    total = wh.scalar("select count(*) from staging.medication_administrations")
    before = month_rows(wh, "2017-05")
    assert before > 0

    # Same files again: nothing new, nothing duplicated.
    again = {o.source_name: o for o in ingest_all(sites)}
    assert {o.status for o in again.values()} == {"up_to_date"}
    assert wh.scalar("select count(*) from staging.medication_administrations") == total

    # A corrected extract for May 2017 (the system re-exported it without its last 100 rows).
    path = extracts / "RF4" / "medication_administrations" / "medication_administrations_2017-05.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.iloc[:-100].to_csv(path, index=False)
    third = {o.source_name: o for o in ingest_all(sites)}
    epma = third["epma"]
    assert epma.status == "loaded" and epma.rows_in == len(frame) - 100
    after = month_rows(wh, "2017-05")
    assert after == epma.rows_loaded
    assert 0 < before - after <= 100  # the dropped rows, less any of them that were quarantined anyway
    # Every other month untouched; no duplicate keys anywhere.
    assert wh.scalar("select count(*) from staging.medication_administrations") == total - (before - after)
    dupes = wh.scalar(
        "select count(*) from (select administration_id from staging.medication_administrations "
        "group by administration_id having count(*) > 1) d"
    )
    assert dupes == 0

    batches = wh.query(
        "select batch_id, months, rows_in, rows_loaded, rows_quarantined, status, superseded_by "
        "from meta.load_batch where source_name = 'epma' order by loaded_at"
    )
    assert len(batches) == 2
    old, new = batches.iloc[0], batches.iloc[1]
    assert new["months"] == "2017-05" and old["superseded_by"] == new["batch_id"]
    assert (batches["rows_in"] == batches["rows_loaded"] + batches["rows_quarantined"]).all()
    # Lineage: every staged row of May 2017 now comes from the new batch.
    lineage = wh.query(
        "select distinct _batch_id from staging.medication_administrations where _period = date '2017-05-01'"
    )
    assert list(lineage["_batch_id"]) == [new["batch_id"]]
