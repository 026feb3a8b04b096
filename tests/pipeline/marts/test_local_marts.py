"""Local marts: ward, specialty, weekly and monthly grains; local measures dropped in by a site; dim_site."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from benefits.register import Benefit
from connectors.ods import ensure_table
from pipeline.marts.build import MeasureError, local_measures, measure_lookup, national_measures
from pipeline.marts.realise import realise


def _broken_down_by(breakdown: str) -> list[str]:
    """RF4's measures (national and its own) whose header lists the breakdown."""
    return sorted(m.code for m in (*national_measures(), *local_measures("RF4")) if breakdown in m.breakdowns)


SPECIALTY = _broken_down_by("specialty")
WARD = _broken_down_by("ward")


def totals(wh, table: str, by: str) -> pd.DataFrame:
    return wh.query(
        f"select measure_code, {by}, sum(numerator) as n, sum(denominator) as d from {table} group by measure_code, {by}"
    ).set_index(["measure_code", by]).sort_index()


def test_finer_grains_add_up_to_the_monthly_figures(duck):
    wh = duck.wh
    monthly = totals(wh, "local_rf4.fact_measure_monthly", "month")
    assert {"bed_days", "mean_los_emergency_days"} <= set(SPECIALTY) < set(WARD)
    assert {"inpatient_falls_per_1000_bed_days", "omitted_critical_doses_rate"} <= set(WARD)
    for table, measures in (("fact_measure_ward_monthly", WARD), ("fact_measure_specialty_monthly", SPECIALTY)):
        got = totals(wh, f"local_rf4.{table}", "month")
        assert set(got.index.get_level_values(0)) == set(measures)
        pd.testing.assert_frame_equal(got, monthly.loc[sorted(measures)], check_exact=False, rtol=1e-12)
    weekly = wh.query("select measure_code, week_start, numerator from local_rf4.fact_measure_weekly")
    assert {pd.Timestamp(w).isoweekday() for w in weekly["week_start"]} == {1}  # ISO weeks start on Monday
    assert "ae_4h_performance" not in set(weekly["measure_code"])  # a monthly source has no weekly figures
    by_measure = weekly.groupby("measure_code")["numerator"].sum()
    all_time = monthly.groupby(level=0)["n"].sum()
    for code, n in by_measure.items():
        assert n == pytest.approx(all_time[code])
    ward_weekly = wh.query("select measure_code, sum(numerator) as n from local_rf4.fact_measure_ward_weekly group by 1")
    assert dict(zip(ward_weekly["measure_code"], ward_weekly["n"])) == pytest.approx(
        {c: all_time[c] for c in WARD})

    weeks = wh.query("select * from local_rf4.dim_week")
    assert set(pd.to_datetime(weekly["week_start"])) <= set(pd.to_datetime(weeks["week_start"]))
    sample = weeks[pd.to_datetime(weeks["week_start"]) == pd.Timestamp("2018-01-01")].iloc[0]
    assert (sample["iso_year"], sample["iso_week"], sample["week_label"]) == (2018, 1, "2018-W01")
    assert sample["financial_year"] == "2017/18" and pd.Timestamp(sample["week_end"]) == pd.Timestamp("2018-01-07")
    specialties = wh.query("select * from local_rf4.dim_specialty").set_index("specialty_code")
    assert specialties.loc["300", "specialty_name"] == "General medicine"
    wards = set(wh.query("select ward_code from local_rf4.dim_ward")["ward_code"])
    assert wards == set(wh.query("select distinct ward_code from local_rf4.fact_measure_ward_monthly")["ward_code"])


def test_local_marts_are_not_suppressed_and_hold_only_their_site(duck):
    wh = duck.wh
    local = wh.query("select * from local_rf4.fact_measure_monthly")
    assert set(local["site_code"]) == {"RF4"}
    national = wh.query("select * from national.fact_measure_monthly where site_code = 'RF4'")
    merged = national.merge(local, on=["measure_code", "month"], suffixes=("_n", "_l"))
    hidden = merged[merged["suppressed"].astype(bool)]
    assert len(hidden) > 10 and hidden["numerator_l"].notna().all()
    shown = merged[~merged["suppressed"].astype(bool)]
    assert (shown["numerator_n"] == shown["numerator_l"]).all()
    for schema in ("local_rrk", "local_rv5"):
        assert set(wh.query(f"select distinct site_code from {schema}.fact_measure_ward_weekly")["site_code"]) == {
            schema[-3:].upper()}
        codes = set(wh.query(f"select measure_code from {schema}.dim_measure")["measure_code"])
        assert "inpatient_falls_per_1000_bed_days" not in codes  # RF4's own measure
    national_codes = set(wh.query("select measure_code from national.dim_measure")["measure_code"])
    assert national_codes == {m.code for m in national_measures()} and "inpatient_falls_per_1000_bed_days" not in national_codes


def test_each_local_mart_model_is_built_once_and_every_site_reads_a_view_of_its_rows(duck):
    wh = duck.wh
    kinds = wh.query("select table_schema, table_name, table_type from information_schema.tables "
                     "where table_schema in ('local_rf4', 'local_rrk', 'local_rv5', 'measures')")
    kind = {(r.table_schema, r.table_name): r.table_type for r in kinds.itertuples()}
    assert kind[("measures", "fact_measure_monthly_all")] == "BASE TABLE"
    for schema in ("local_rf4", "local_rrk", "local_rv5"):
        for table in ("fact_measure_monthly", "fact_measure_ward_weekly", "dim_measure", "dim_week", "dq_batch"):
            assert kind[(schema, table)] == "VIEW", (schema, table)
    # one table over the trusts (not X24, the A&E publisher), each site's view its share of it
    everyone = wh.query("select site_code, count(*) as n from measures.fact_measure_ward_weekly_all group by 1")
    counts = dict(zip(everyone["site_code"], everyone["n"]))
    assert set(counts) == {"RF4", "RRK", "RV5"}
    for code, n in counts.items():
        assert wh.scalar(f"select count(*) from local_{code.lower()}.fact_measure_ward_weekly") == n
    # a dimension's view leaves out the site_code its all-sites table is keyed by
    assert "site_code" not in wh.query("select * from local_rf4.dim_measure limit 0").columns
    assert wh.scalar("select count(*) from measures.dim_measure_all where site_code = 'RF4'") == \
        wh.scalar("select count(*) from local_rf4.dim_measure") == len(national_measures()) + 1  # and RF4's own


def test_a_warehouse_with_a_table_per_site_gets_the_views_on_its_next_build(duck_copy):
    """Warehouses built before the local marts were one model over all sites hold a table per site."""
    wh = duck_copy.wh
    duck_copy.build(benefits=False)
    before = wh.query("select * from local_rf4.fact_measure_monthly order by measure_code, month")
    with wh.begin() as conn:  # as the earlier build left it
        for schema in ("local_rf4", "local_rrk"):
            conn.execute(sa.text(f"drop view {schema}.fact_measure_monthly"))
            conn.execute(sa.text(f"create table {schema}.fact_measure_monthly as select * from "
                                 f"measures.fact_measure_monthly_all where site_code = '{schema[-3:].upper()}'"))
    duck_copy.build(benefits=False)
    kind = "select table_type from information_schema.tables where table_schema = 'local_rf4' and table_name = :t"
    assert wh.scalar(kind, {"t": "fact_measure_monthly"}) == "VIEW"
    after = wh.query("select * from local_rf4.fact_measure_monthly order by measure_code, month")
    pd.testing.assert_frame_equal(after, before)


def test_the_models_do_not_multiply_with_the_sites():
    from pipeline.warehouse.models import discover

    def sites(n):
        return [{"ods_code": f"B{i:03d}", "schema": f"local_b{i:03d}"} for i in range(n)]

    one, many = discover(sites(1)), discover(sites(200))
    assert [m.fqn for m in one] == [m.fqn for m in many]
    assert not any(m.schema.startswith("local_") for m in many)


LOCAL_MEASURE = """\
-- measure: refused_critical_doses_rate
-- name: Refused critical medicine doses
-- unit: proportion
-- direction: lower
-- family: binomial
-- numerator: critical doses the patient refused
-- denominator: critical doses due
-- breakdowns: ward
-- grain: site_code x ward_code x day
-- key: site_code, ward_code, day
-- description: a measure only this site tracks
select
    site_code,
    ward_code,
    cast(scheduled_at as date) as day,
    sum(case when status = 'refused' then 1 else 0 end) as numerator,
    count(*) as denominator
from {{ ref('stg_medication_administrations') }}
where critical_medicine and status <> 'not_required'
group by site_code, ward_code, cast(scheduled_at as date)
"""


def test_a_local_measure_dropped_into_the_site_folder(duck_copy, tmp_path, monkeypatch):
    local_dir = tmp_path / "local"
    (local_dir / "rf4").mkdir(parents=True)
    (local_dir / "rf4" / "refused_critical_doses_rate.sql").write_text(LOCAL_MEASURE)
    wh = duck_copy.wh
    built = duck_copy.build(local_sql=local_dir, benefits=False)
    assert "measures.local_rf4_refused_critical_doses_rate" in built

    dim = wh.query("select * from local_rf4.dim_measure where measure_code = 'refused_critical_doses_rate'")
    assert dim[["scope", "improvement_direction", "unit", "breakdowns"]].iloc[0].tolist() == [
        "local", "lower", "proportion", "ward"]
    monthly = wh.query("select * from local_rf4.fact_measure_monthly where measure_code = 'refused_critical_doses_rate'")
    assert len(monthly) == 36 and (monthly["denominator"] > 0).all()
    truth = wh.query(
        "select sum(case when status = 'refused' then 1 else 0 end) as n, count(*) as d "
        "from staging.stg_medication_administrations where site_code = 'RF4' and critical_medicine "
        "and status <> 'not_required'"
    ).iloc[0]
    assert (monthly["numerator"].sum(), monthly["denominator"].sum()) == (truth["n"], truth["d"])
    assert wh.scalar("select count(*) from local_rf4.fact_measure_ward_weekly "
                     "where measure_code = 'refused_critical_doses_rate'") > 100
    for table in ("national.dim_measure", "national.fact_measure_monthly", "local_rrk.dim_measure",
                  "local_rrk.fact_measure_monthly"):
        assert wh.scalar(f"select count(*) from {table} where measure_code = 'refused_critical_doses_rate'") == 0

    # The site's lookup knows it; nobody else's does.
    assert measure_lookup("RF4", local_sql=local_dir)["refused_critical_doses_rate"].direction == "lower"
    assert "refused_critical_doses_rate" not in measure_lookup("RRK", local_sql=local_dir)
    assert "refused_critical_doses_rate" not in measure_lookup()

    # A planned benefit of the site can be tracked on it.
    monkeypatch.setenv("BENEFITS_LOCAL_SQL_DIR", str(local_dir))
    rf4 = next(s for s in duck_copy.sites if s.ods_code == "RF4")
    benefit = Benefit(id="RF4-REFUSED-01", title="Fewer refused critical doses", measure="refused_critical_doses_rate",
                      go_live="2018-01", baseline={"start": "2016-04", "end": "2017-12"}, scope="local")
    site = rf4.model_copy(update={"benefits": [benefit]})
    result = realise(wh, [site])
    assert result.problems == []
    rows = wh.query("select * from local_rf4.fact_benefit where benefit_id = 'RF4-REFUSED-01'")
    assert len(rows) >= 12 and set(rows["measure_code"]) == {"refused_critical_doses_rate"}
    assert rows["as_of_month"].map(pd.Timestamp).min() == pd.Timestamp("2018-01-01")


def test_a_local_measure_naming_a_model_without_ref_is_refused(duck_copy, tmp_path):
    """Dependencies are the ref() calls: a bare staging.stg_... would be built in no particular order."""
    local_dir = tmp_path / "local"
    (local_dir / "rf4").mkdir(parents=True)
    bare = LOCAL_MEASURE.replace("{{ ref('stg_medication_administrations') }}", "staging.stg_medication_administrations")
    (local_dir / "rf4" / "refused_critical_doses_rate.sql").write_text(bare)
    with pytest.raises(RuntimeError, match=r"refused_critical_doses_rate.sql\): names other models directly; "
                       r"write \{\{ ref\('stg_medication_administrations'\) \}\}"):
        duck_copy.build(local_sql=local_dir, benefits=False)


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (LOCAL_MEASURE.replace("-- direction: lower\n", ""), r"lacks direction"),
        (LOCAL_MEASURE.replace("refused_critical_doses_rate", "bed_days"), r"'bed_days' is a national measure"),
        (LOCAL_MEASURE.replace("-- breakdowns: ward", "-- breakdowns: bay"), r"breakdowns: bay not among"),
        (LOCAL_MEASURE.replace("-- direction: lower", "-- direction: down"), r"direction: 'down' is not one of"),
    ],
)
def test_a_bad_local_measure_header_names_file_and_field(tmp_path, header, error):
    (tmp_path / "rf4").mkdir()
    path = tmp_path / "rf4" / "m.sql"
    path.write_text(header)
    with pytest.raises(MeasureError, match=error) as err:
        local_measures("RF4", tmp_path)
    assert str(path) in str(err.value)


def test_dim_site_names_every_organisation_from_ods(duck_copy):
    wh = duck_copy.wh
    ensure_table(wh)
    wh.execute(
        "insert into meta.ods_organisation (org_code, name, primary_role, region, fetched_at) values "
        "('R1H', 'BARTS HEALTH NHS TRUST', 'NHS TRUST', 'LONDON', :t), "
        "('RF4', 'ODS NAME OF RF4', 'NHS TRUST', 'LONDON', :t)",
        {"t": dt.datetime(2026, 1, 1)},
    )
    duck_copy.build(benefits=False)
    sites = wh.query("select * from national.dim_site").set_index("site_code")
    assert len(sites) > 250 and sites.index.is_unique
    assert sites.loc["R1H", ["site_name", "region", "trust_type"]].tolist() == [
        "BARTS HEALTH NHS TRUST", "LONDON", "unknown"]
    assert not sites.loc["R1H", "configured"]
    assert sites.loc["RF4", "site_name"].startswith("Barking") and sites.loc["RF4", "configured"]
    nameless = sites[~sites.index.isin(["R1H", "RF4", "RRK", "RV5"])]
    assert nameless["site_name"].isna().all() and (nameless["region"] == "Unknown").all()
    regions = set(wh.query("select distinct region from national.region_quarterly")["region"])
    assert {"LONDON", "London", "Midlands", "Unknown"} <= regions
