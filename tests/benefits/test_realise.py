"""`realise` on a real warehouse (DuckDB, and PostgreSQL): the mart tables the engine writes."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from benefits.scan import ScanSettings
from benefits.status import STATUSES
from benefits.tables import MART_TABLES
from pipeline.marts.build import measure_lookup
from pipeline.marts.realise import realise
from pipeline.warehouse.core import Warehouse
from pipeline.warehouse.ddl import ensure_schema
from tests.benefits.synthetic import build_measure_monthly, site_configs

N_SITES, N_MONTHS = 6, 48
# The synthetic sites have no change that a benefit does not cover, so the confirmed scan rightly
# lists nothing (checked below); its runs unconfirmed exercise the scan's tables.
RUNS = ScanSettings(confirm_p=1.0)
SERIES_TYPES = {
    "site_code": "varchar", "measure_code": "varchar", "month": "date",
    "numerator": "double", "denominator": "double", "value": "double",
}  # fmt: skip


@pytest.fixture(scope="module")
def measure_monthly() -> pd.DataFrame:
    # A small scale, so that some monthly counts are small enough to be withheld nationally.
    return build_measure_monthly(N_SITES, N_MONTHS, scale=0.03)


def load(url: str, frame: pd.DataFrame):
    wh = Warehouse(url)
    sites = site_configs(N_SITES, N_MONTHS)
    ensure_schema(wh, [s.schema for s in sites])
    with wh.begin() as conn:
        wh.replace_table(conn, "measures.measure_monthly", frame, SERIES_TYPES)
    return wh, sites


def table(wh: Warehouse, name: str, order: str) -> pd.DataFrame:
    return wh.query(f"select * from {name} order by {order}")


def check_marts(wh: Warehouse, sites) -> None:
    for spec in MART_TABLES:
        for schema in (["national"] if "national" in spec.scopes else []) + ([sites[0].schema] if "local" in spec.scopes else []):
            assert wh.columns(schema, spec.name) == list(spec.columns), (schema, spec.name)
    programme = table(wh, "national.fact_programme_effect", "measure_code, system")
    epma = programme[programme["system"] == "Closed-loop ePMA"].iloc[0]
    assert epma["sites"] == N_SITES and epma["meta_sites"] >= N_SITES - 1
    assert epma["meta_low"] < epma["meta_rate_ratio"] < epma["meta_high"]
    assert "no cohort has clean controls" in epma["note"] or epma["staggered_low"] < epma["staggered_rate_ratio"] < epma["staggered_high"]
    local = table(wh, "local_s001.fact_benefit", "benefit_id, as_of_month")
    assert set(local["benefit_id"]) == {"S001-EPMA", "S001-MEDINC", "S001-LOS"}
    assert local.groupby("benefit_id")["is_latest"].sum().eq(1).all()
    assert local["status"].isin(STATUSES).all()
    assert local["status_reason"].str.len().gt(10).all()

    national = table(wh, "national.fact_benefit", "site_code, benefit_id, as_of_month")
    assert set(national["scope"]) == {"national"} and not national["benefit_id"].str.endswith("-LOS").any()
    assert national["site_code"].nunique() == N_SITES
    hidden = national[national["latest_suppressed"]]
    assert len(hidden) and hidden["latest_value"].isna().all() and hidden["change_abs"].isna().all()
    assert not hidden["status_reason"].str.contains("latest [0-9]", regex=True).any()

    spc = table(wh, "national.fact_benefit_spc", "site_code, benefit_id, month")
    small = spc["numerator"].isna() & spc["suppressed"]
    assert small.any() and spc.loc[spc["suppressed"], "value"].isna().all()
    assert spc.loc[~spc["suppressed"], "value"].notna().all()
    local_spc = table(wh, "local_s001.fact_benefit_spc", "benefit_id, month")
    assert not local_spc["suppressed"].any() and local_spc["value"].notna().all()

    # The scan leaves out months a benefit covers, and the national table lists national measures.
    unplanned = table(wh, "national.fact_unplanned_change", "site_code, measure_code, first_month")
    assert len(unplanned) and set(unplanned["measure_code"]) <= set(measure_lookup())
    covered = unplanned[unplanned["covered_from"].notna()]
    assert set(covered["measure_code"]) <= {"omitted_critical_doses_rate", "medication_incidents_per_1000_bed_days",
                                            "mean_los_emergency_days"}  # fmt: skip
    assert (pd.to_datetime(covered["last_month"]) < pd.to_datetime(covered["covered_from"])).all()
    assert unplanned["description"].str.startswith(("Possible unanticipated benefit", "Possible disbenefit",
                                                    "Unexplained change")).all()  # fmt: skip
    mine = table(wh, "local_s002.fact_unplanned_change", "measure_code, first_month")
    assert set(mine["site_code"]) <= {"S002"}


def test_realise_on_duckdb_and_rerun_is_identical(tmp_path, measure_monthly):
    wh, sites = load(f"duckdb:///{tmp_path / 'w.duckdb'}", measure_monthly)
    result = realise(wh, sites, suppression_threshold=7, scan_settings=RUNS)
    assert result.benefits == 3 * N_SITES and not result.problems
    assert result.rows == len(wh.query("select * from national.fact_benefit")) + sum(
        len(wh.query(f"select * from {s.schema}.fact_benefit where scope = 'local'")) for s in sites
    )
    check_marts(wh, sites)
    first = {t: table(wh, t, "1, 2, 3") for t in ("national.fact_benefit", "national.fact_benefit_spc", "local_s003.fact_unplanned_change")}
    realise(wh, sites, suppression_threshold=7, scan_settings=RUNS)
    for name, before in first.items():
        pd.testing.assert_frame_equal(before, table(wh, name, "1, 2, 3"))
    assert realise(wh, sites, suppression_threshold=7).unplanned == 0
    wh.dispose()


def test_unknown_measure_is_a_problem_not_a_crash(tmp_path, measure_monthly):
    wh, sites = load(f"duckdb:///{tmp_path / 'w.duckdb'}", measure_monthly)
    bad = sites[0].model_copy(deep=True)
    bad.benefits[0].measure = "no_such_measure"
    result = realise(wh, [bad], suppression_threshold=7)
    assert result.problems == ["S001: benefit S001-EPMA: unknown measure 'no_such_measure'"]
    assert result.benefits == 2
    wh.dispose()


@pytest.mark.postgres
def test_realise_on_postgres_matches_duckdb(tmp_path, pg_url, measure_monthly):
    duck, sites = load(f"duckdb:///{tmp_path / 'w.duckdb'}", measure_monthly)
    pg, _ = load(pg_url, measure_monthly)
    realise(duck, sites, suppression_threshold=7, scan_settings=RUNS)
    realise(pg, sites, suppression_threshold=7, scan_settings=RUNS)
    check_marts(pg, sites)
    for name, order in (
        ("national.fact_benefit", "site_code, benefit_id, as_of_month"),
        ("national.fact_benefit_spc", "site_code, benefit_id, month"),
        ("local_s004.fact_unplanned_change", "measure_code, first_month"),
    ):
        a, b = table(duck, name, order), table(pg, name, order)
        for frame in (a, b):
            for col in frame.columns:
                if frame[col].dtype == object or str(frame[col].dtype).startswith(("date", "str")):
                    frame[col] = frame[col].astype(str)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)
    duck.dispose()
    pg.dispose()
    sa.create_engine(pg_url).dispose()


def test_a_signal_over_a_withheld_month_is_published_without_its_means():
    """A mean over published months and one withheld month would give the withheld value away."""
    import datetime as dt

    from benefits.scan import describe
    from benefits.tables import FACT_UNPLANNED_CHANGE
    from pipeline.marts.realise import publish_unplanned

    def signal(site, measure, first):
        r = {"site_code": site, "measure_code": measure, "first_month": first, "last_month": dt.date(2018, 5, 1),
             "months": 3, "rule": "run", "direction": "concern", "point_type": "concern",
             "baseline_start": dt.date(2016, 4, 1), "baseline_end": dt.date(2017, 3, 1), "baseline_mean": 0.1,
             "signal_mean": 0.2, "size_abs": 0.1, "size_pct": 100.0, "ongoing": False,
             "scanned_to": dt.date(2019, 3, 1), "covered_from": None}  # fmt: skip
        return {**r, "description": describe(r, measure)}

    measure = "delayed_critical_doses_rate"
    frame = pd.DataFrame([signal("S001", measure, dt.date(2018, 3, 1)), signal("S002", measure, dt.date(2018, 3, 1)),
                          signal("S003", measure, dt.date(2018, 3, 1)), signal("S001", "a_local_measure", dt.date(2018, 3, 1))],
                         columns=list(FACT_UNPLANNED_CHANGE.columns))  # fmt: skip
    withheld = {("S001", measure, dt.date(2016, 9, 1)),  # in S001's baseline
                ("S002", measure, dt.date(2018, 4, 1)),  # in S002's signal
                ("S003", measure, dt.date(2018, 9, 1)),  # after S003's signal: no mean covers it
                ("S003", "ae_4h_performance", dt.date(2018, 4, 1))}  # another measure  # fmt: skip
    out = publish_unplanned(frame, {measure, "ae_4h_performance"}, withheld).set_index("site_code")
    assert list(out.index) == ["S001", "S002", "S003"]  # the local measure's signal stays local
    means = ["baseline_mean", "signal_mean", "size_abs", "size_pct"]
    assert out.loc[["S001", "S002"], means].isna().all().all()
    assert out.loc["S003", means].tolist() == [0.1, 0.2, 0.1, 100.0]
    assert out.loc["S001", "description"].endswith("the means are withheld, as a month they cover is withheld nationally")
    assert "0.1" not in out.loc["S002", "description"] and "mean" in out.loc["S003", "description"]
    assert out.loc["S003", "description"] == frame.loc[2, "description"]
