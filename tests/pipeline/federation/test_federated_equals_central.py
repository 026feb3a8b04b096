"""Acceptance of federated reporting (issue 14): three simulated trusts, each with its own DuckDB
warehouse, submit signed packages to a local folder and to a local S3 server; the collector loads a
national warehouse (PostgreSQL, and DuckDB from S3); its national mart equals, row for row, the one
a central run over the same three trusts builds, and it holds no record-level table or identifier."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from pipeline.federation.collect import build_national_marts, collect
from pipeline.federation.keys import init_key, load_private, load_registry
from pipeline.federation.submit import submit
from pipeline.warehouse.core import Warehouse
from tests.support.federation import THRESHOLD, UNPLANNED_EFFECTS, site_warehouse, split_warehouse
from tests.support.s3server import aws_env, make_bucket, moto_s3

# RJ1 and RV5 both have ePMA on omitted critical doses: a programme effect to compare.
CODES = ["RF4", "RJ1", "RRK", "RV5"]
# The national tables both modes build that Python writes, by key; the SQL marts the collector
# builds are found as it finds them (pipeline.federation.national), with their YAML's key.
BENEFIT_TABLES = {
    "fact_benefit": ["site_code", "benefit_id", "as_of_month"],
    "fact_benefit_spc": ["site_code", "benefit_id", "month"],
    "benefit_value_summary": None,
    "fact_unplanned_change": ["site_code", "measure_code", "first_month"],
}
# fact_programme_effect: the meta-analysis needs only the sites' ITS effects and is equal; the
# stacked estimate sees only published site-months (_assert_programme_effect).
META = ["measure_code", "system", "sites", "meta_sites", "meta_rate_ratio", "meta_low", "meta_high",
        "meta_prediction_low", "meta_prediction_high", "meta_i2", "meta_tau2"]  # fmt: skip
STACKED = ["staggered_sites", "staggered_rate_ratio", "staggered_low", "staggered_high", "note"]
IDENTIFIERS = {"patient_ref", "administration_id", "incident_id", "spell_id", "nhs_number", "ward_code"}


@pytest.fixture(scope="module")
def trusts(tmp_path_factory):
    """The central warehouse over the trusts, and one warehouse (and signing key) per trust: its rows
    of the central one (simulated and ingested once), its own marts and benefits."""
    root = tmp_path_factory.mktemp("federation_e2e")
    central = site_warehouse(root / "central", CODES, extra_effects=UNPLANNED_EFFECTS)
    own = {code: split_warehouse(central, root / code, code) for code in CODES}
    registry = root / "registry"
    registry.mkdir()
    for code, built in own.items():
        init_key(built.home, code)
        shutil.copy(built.home / "keys" / f"{code}.pub", registry / f"{code}.pub")
    yield central, own, registry
    for built in (central, *own.values()):
        built.wh.dispose()


def _submit_all(own, url: str) -> None:
    for code, built in own.items():
        submit(built.wh, built.site(code), url, load_private(built.home, code), threshold=THRESHOLD)


def _table(wh: Warehouse, table: str, key: list[str] | None) -> pd.DataFrame:
    frame = wh.query(f"select * from national.{table}")
    frame = frame[sorted(frame.columns)]
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    key = key or list(frame.columns)
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


def _national_tables(wh: Warehouse) -> dict[str, list[str] | None]:
    from pipeline.federation.national import federated_models
    from pipeline.marts.build import model_vars

    marts = {m.name: [c.strip() for c in m.header["key"].split(",")]
             for m in federated_models(model_vars(wh, [], (), 8)) if m.schema == "national"}
    assert {"dim_site", "fact_measure_monthly", "region_quarterly", "trust_type_financial_year"} <= set(marts)
    return {**marts, **BENEFIT_TABLES}


def _assert_same_national_mart(central: Warehouse, national: Warehouse) -> None:
    for table, key in _national_tables(national).items():
        a, b = _table(central, table, key), _table(national, table, key)
        assert len(a) > 0, table
        assert list(a.columns) == list(b.columns), table
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-12, obj=table)
    withheld = central.query("select count(*) as n from national.fact_measure_monthly where suppressed")["n"][0]
    assert withheld > 0  # the comparison covers suppression, not only published figures
    _assert_programme_effect(central, national)


def _stacked_on_published(central: Warehouse) -> pd.DataFrame:
    """Central mode's programme effects from its own record-level series, with the months the
    national mart withholds taken out: what the collector can compute, made without it."""
    from benefits.pooled import programme_effects
    from pipeline.marts.realise import load_series

    series = load_series(central)
    withheld = central.query("select site_code, measure_code, month from national.fact_measure_monthly where suppressed")
    hidden = set(zip(withheld["site_code"], withheld["measure_code"], pd.to_datetime(withheld["month"]).dt.date))
    drop = [k in hidden for k in zip(series["site_code"], series["measure_code"], series["month"])]
    assert any(drop)
    series.loc[drop, ["numerator", "denominator", "value"]] = float("nan")
    latest = central.query("select * from national.fact_benefit where is_latest")
    registered = latest[["site_code", "measure_code", "project", "go_live_month", "ramp_months"]].rename(
        columns={"go_live_month": "go_live"})
    return programme_effects(latest, series, registered).sort_values(["measure_code", "system"]).reset_index(drop=True)


def _assert_programme_effect(central: Warehouse, national: Warehouse) -> None:
    from pipeline.federation.national import WITHHELD_NOTE

    key = ["measure_code", "system"]
    a, b = _table(central, "fact_programme_effect", key), _table(national, "fact_programme_effect", key)
    assert len(a) > 0 and list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a[META], b[META], check_dtype=False, check_exact=False, rtol=1e-9)
    expected = _stacked_on_published(central)
    assert (expected["staggered_sites"] > 0).all()
    expected["note"] = expected["note"] + "; " + WITHHELD_NOTE
    pd.testing.assert_frame_equal(expected[STACKED], b[STACKED], check_dtype=False, check_exact=False, rtol=1e-9)


def _assert_no_record_level_data(national: Warehouse) -> None:
    columns = national.query(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema not in ('information_schema', 'pg_catalog')"
    )
    assert not set(columns["table_schema"]) & {"staging", "quarantine"}
    assert not set(columns["column_name"].str.lower()) & IDENTIFIERS
    assert not any(s.startswith("local_") for s in columns["table_schema"])


def _assert_board_on_the_national_page(national: Warehouse, out) -> None:
    """The page shows, per trust and dataset, the board's status of each of the latest 12 due months."""
    import re

    from pipeline.report.build import build

    build(national, [], out, site_pages=False, national=True)
    html = (out / "national.html").read_text(encoding="utf-8")
    board = national.query("select site_code, dataset, month, status from national.submission_completeness")
    board["month"] = pd.to_datetime(board["month"])
    latest = board[board["month"].isin(sorted(board["month"].unique())[-12:])]
    shown = re.findall(r'<td class="st-[a-z]+" data-status="([a-z]+)" title="([A-Z0-9]+) ', html)
    assert len(shown) == len(latest) == len(CODES) * 3 * 12
    assert sorted(shown) == sorted(zip(latest["status"], latest["site_code"]))
    assert "Completeness: who has submitted" in html


@pytest.mark.slow
@pytest.mark.postgres
def test_three_trusts_submit_to_a_folder_and_the_postgresql_collector_publishes_what_central_mode_does(
    trusts, tmp_path, pg_url
):
    central, own, registry = trusts
    exchange = str(tmp_path / "exchange")
    _submit_all(own, exchange)
    national = Warehouse(pg_url)
    try:
        result = collect(exchange, national, load_registry(registry), threshold=THRESHOLD)
        assert [o.status for o in result.packages] == ["accepted"] * len(CODES), [o.reasons for o in result.packages]
        build_national_marts(national, THRESHOLD)
        _assert_same_national_mart(central.wh, national)
        _assert_no_record_level_data(national)
        # Months up to the last submitted one are in (late: the packages were made years after), except
        # the months whose incident file was empty at test scale; the months since are missing.
        board = national.query("select site_code, dataset, month, status from national.submission_completeness")
        last = pd.Timestamp(national.query("select max(month) as m from national.fact_measure_monthly")["m"][0])
        months = pd.to_datetime(board["month"])
        sent = board[months <= last]
        assert set(sent.loc[sent["dataset"] != "patient_safety_incidents", "status"]) == {"late"}
        assert (sent["status"] == "late").mean() > 0.95 and set(sent["status"]) <= {"late", "missing"}
        assert set(board.loc[months > last, "status"]) == {"missing"}
        assert set(board["site_code"]) == set(CODES)
    finally:
        national.dispose()


@pytest.mark.slow
def test_three_trusts_submit_to_s3_and_a_duckdb_collector_publishes_what_central_mode_does(
    trusts, tmp_path, monkeypatch
):
    central, own, registry = trusts
    import fsspec

    with moto_s3() as endpoint:
        aws_env(monkeypatch, endpoint)
        url = make_bucket()  # a fresh name: moto keeps buckets per process, not per server
        fs, bucket = fsspec.core.url_to_fs(url)
        _submit_all(own, url)
        national = Warehouse(f"duckdb:///{tmp_path / 'collector.duckdb'}")
        try:
            result = collect(url, national, load_registry(registry), threshold=THRESHOLD)
            assert result.count("accepted") == len(CODES), [o.reasons for o in result.packages]
            assert len(fs.ls(f"{bucket}/accepted")) == len(CODES) == len(fs.ls(f"{bucket}/receipts"))
            build_national_marts(national, THRESHOLD)
            _assert_same_national_mart(central.wh, national)
            _assert_no_record_level_data(national)
            _assert_board_on_the_national_page(national, tmp_path / "report")
        finally:
            national.dispose()


@pytest.mark.slow
def test_a_trust_that_submits_its_history_in_two_financial_years_parts_gives_the_same_national_mart(trusts, tmp_path):
    """Two packages per trust split at a financial year: the collector stitches them (the second's
    benefit rows become the latest, its SPC charts replace the first's) into central mode's mart."""
    import datetime as dt

    central, own, registry = trusts
    exchange = str(tmp_path / "exchange")
    split = dt.date(2018, 4, 1)
    for code, built in own.items():
        key = load_private(built.home, code)
        submit(built.wh, built.site(code), exchange, key, threshold=THRESHOLD, last=dt.date(2018, 3, 1))
        submit(built.wh, built.site(code), exchange, key, threshold=THRESHOLD, first=split)
    national = Warehouse(f"duckdb:///{tmp_path / 'collector.duckdb'}")
    try:
        result = collect(exchange, national, load_registry(registry), threshold=THRESHOLD)
        assert result.count("accepted") == 2 * len(CODES), [o.reasons for o in result.packages]
        build_national_marts(national, THRESHOLD)
        _assert_same_national_mart(central.wh, national)
        latest = national.query("select site_code, benefit_id, count(*) as n from national.fact_benefit "
                                "where is_latest group by site_code, benefit_id")  # fmt: skip
        assert len(latest) > 0 and (latest["n"] == 1).all()
    finally:
        national.dispose()
