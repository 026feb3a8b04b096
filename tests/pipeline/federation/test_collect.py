"""The national collector on valid packages: merge, replacement with history, idempotence, receipts."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from pipeline.federation.collect import collect
from pipeline.federation.keys import load_registry
from pipeline.warehouse.core import Warehouse
from tests.pipeline.federation.collect_support import frames, site_keys, write_package

TODAY = dt.date(2026, 12, 4)
THRESHOLD = 7


@pytest.fixture
def keys_and_registry(tmp_path):
    private, path = site_keys(tmp_path / "home", ["RAA", "RBB"])
    return private, load_registry(path)


@pytest.fixture(params=["duckdb", "postgresql"])
def wh(request, tmp_path):
    url = f"duckdb:///{tmp_path / 'collector.duckdb'}" if request.param == "duckdb" else request.getfixturevalue("pg_url")
    w = Warehouse(url)
    yield w
    w.dispose()


def _collect(root, wh, registry):
    return collect(str(root), wh, registry, threshold=THRESHOLD, today=TODAY)


def _snapshot(wh) -> dict:
    """Every collected, bookkeeping and board table's rows, sorted: what 'unchanged' means."""
    out = {}
    for schema in ("collected", "meta", "national"):
        for table in wh.tables(schema):
            frame = wh.query(f"select * from {schema}.{table}")
            out[f"{schema}.{table}"] = sorted(map(repr, frame.astype(str).itertuples(index=False)))
    return out


def test_valid_package_is_accepted_and_merged(tmp_path, wh, keys_and_registry):
    private, registry = keys_and_registry
    root = tmp_path / "exchange"
    folder = write_package(root / "inbox", private["RAA"], "RAA", "2025-04", "2025-06", dt.datetime(2025, 7, 10, 9))
    result = _collect(root, wh, registry)
    assert [(p.package, p.status, p.reasons) for p in result.packages] == [(folder.name, "accepted", [])]
    assert not folder.exists() and (root / "accepted" / folder.name / "manifest.sig").exists()
    measures = wh.query("select site_code, measure_code, period_start, numerator, package from collected.measures")
    assert len(measures) == 6 and set(measures["package"]) == {folder.name} and set(measures["site_code"]) == {"RAA"}
    assert wh.scalar("select count(*) from collected.benefits") == 3
    assert wh.scalar("select count(*) from collected.dq_rules") == 12
    sub = wh.query("select package, site_code, status, first_month, last_month from meta.submission")
    assert sub.to_dict("records") == [{"package": folder.name, "site_code": "RAA", "status": "accepted",
                                        "first_month": dt.date(2025, 4, 1), "last_month": dt.date(2025, 6, 1)}]
    receipt = json.loads((root / "receipts" / f"{folder.name}.json").read_text())
    assert receipt["status"] == "accepted" and receipt["reasons"] == [] and receipt["site_code"] == "RAA"
    dq = {d["dataset"]: d for d in receipt["data_quality"]}
    assert dq["ae_monthly"]["rows_in"] == 3000 and dq["ae_monthly"]["rows_quarantined"] == 30
    assert dq["ae_monthly"]["lowest_rule"] == "validity" and dq["ae_monthly"]["lowest_pass_rate"] == 0.9
    # nothing left behind for the transaction's own use
    assert not [t for t in wh.tables("collected") if t.startswith("incoming_")]


def test_newer_package_replaces_older_months_and_keeps_history(tmp_path, wh, keys_and_registry):
    private, registry = keys_and_registry
    root = tmp_path / "exchange"
    old = write_package(root / "inbox", private["RAA"], "RAA", "2025-04", "2025-06", dt.datetime(2025, 7, 10, 9))
    _collect(root, wh, registry)
    # a correction of May and June with different figures, and a new month
    new = write_package(root / "inbox", private["RAA"], "RAA", "2025-05", "2025-07", dt.datetime(2025, 8, 3, 9),
                        data=frames("RAA", "2025-05", "2025-07", base=500.0))
    other = write_package(root / "inbox", private["RBB"], "RBB", "2025-04", "2025-06", dt.datetime(2025, 7, 11, 9))
    result = _collect(root, wh, registry)
    assert {p.package: p.status for p in result.packages} == {new.name: "accepted", other.name: "accepted"}
    assert next(p for p in result.packages if p.package == new.name).replaces == [old.name]
    rows = wh.query("select period_start, numerator, package from collected.measures "
                    "where site_code = 'RAA' and measure_code = 'ae_4h_performance' order by period_start")
    assert rows["package"].tolist() == [old.name, new.name, new.name, new.name]
    assert rows["numerator"].tolist() == [100.0, 500.0, 501.0, 502.0]
    hist = wh.query("select period_start, numerator, package, replaced_by from collected.measures_history "
                    "where measure_code = 'ae_4h_performance' order by period_start")
    assert hist["period_start"].tolist() == [dt.date(2025, 5, 1), dt.date(2025, 6, 1)]
    assert set(hist["package"]) == {old.name} and set(hist["replaced_by"]) == {new.name}
    assert hist["numerator"].tolist() == [101.0, 102.0]
    # the other site's rows are untouched by RAA's correction
    assert wh.scalar("select count(*) from collected.measures where site_code = 'RBB'") == 6
    assert wh.scalar("select replaced_by from meta.submission where package = :p", {"p": old.name}) == new.name
    receipt = json.loads((root / "receipts" / f"{new.name}.json").read_text())
    assert receipt["replaces"] == [old.name]


def test_collecting_twice_changes_nothing(tmp_path, wh, keys_and_registry):
    private, registry = keys_and_registry
    root = tmp_path / "exchange"
    a = write_package(root / "inbox", private["RAA"], "RAA", "2025-04", "2025-06", dt.datetime(2025, 7, 10, 9))
    write_package(root / "inbox", private["RBB"], "RBB", "2025-04", "2025-06", dt.datetime(2025, 7, 11, 9))
    _collect(root, wh, registry)
    before = _snapshot(wh)
    receipt_before = (root / "receipts" / f"{a.name}.json").read_text()
    again = _collect(root, wh, registry)  # an empty inbox
    assert again.packages == [] and _snapshot(wh) == before
    # the same package submitted a second time
    shutil.copytree(root / "accepted" / a.name, root / "inbox" / a.name)
    dup = _collect(root, wh, registry)
    assert [(p.package, p.status) for p in dup.packages] == [(a.name, "rejected")]
    assert "already collected" in dup.packages[0].reasons[0]
    assert _snapshot(wh) == before
    assert (root / "receipts" / f"{a.name}.json").read_text() == receipt_before
    assert not (root / "inbox" / a.name).exists() and len(list((root / "rejected").iterdir())) == 1


def test_incomplete_package_is_left_alone(tmp_path, wh, keys_and_registry):
    private, registry = keys_and_registry
    root = tmp_path / "exchange"
    folder = write_package(root / "inbox", private["RAA"], "RAA", "2025-04", "2025-06", dt.datetime(2025, 7, 10, 9),
                           signed=False)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = _collect(root, wh, registry)
    assert result.packages == []
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert not (root / "receipts").exists()
    assert wh.scalar("select count(*) from meta.submission") == 0


def _record_level_columns() -> set[str]:
    """Every column of a dataset contract that identifies a record or a patient."""
    from dataset_contracts.contracts import CONTRACTS

    named = {c.name for contract in CONTRACTS.values() for c in contract.columns}
    ids = {c for c in named if c.endswith(("_id", "_ref")) or c in ("nhs_number", "date_of_birth", "postcode")}
    assert "patient_ref" in ids  # the check below would prove nothing if the contracts changed under it
    return ids | {"nhs_number", "patient_ref"}


def test_national_catalogue_has_no_record_level_table_or_identifier(tmp_path, wh, keys_and_registry):
    private, registry = keys_and_registry
    root = tmp_path / "exchange"
    write_package(root / "inbox", private["RAA"], "RAA", "2025-04", "2025-06", dt.datetime(2025, 7, 10, 9))
    write_package(root / "inbox", private["RBB"], "RBB", "2025-04", "2025-06", dt.datetime(2025, 7, 11, 9))
    assert _collect(root, wh, registry).count("accepted") == 2
    cols = wh.query("select table_schema, table_name, column_name from information_schema.columns "
                    "where table_schema not in ('information_schema', 'pg_catalog')")
    assert len(cols) > 0 and {"collected", "meta", "national"} <= set(cols["table_schema"])
    leaked = cols[cols["column_name"].isin(_record_level_columns())]
    assert leaked.empty, leaked.to_dict("records")
    assert not [s for s in cols["table_schema"].unique() if s == "staging" or s.startswith(("local_", "raw"))]
    tables = set(cols["table_name"])
    assert not {t for t in tables if t.startswith(("stg_", "incoming_"))}
