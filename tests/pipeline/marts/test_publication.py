"""Published figures never silently change: a register edit and a data correction after
`publish` leave the published rows as they were and are recorded as restatements with their cause."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.config.sites import SiteConfig
from pipeline.marts.publication import _text, describe_changes, publish, register_hash
from pipeline.marts.realise import realise
from tests.benefits.synthetic import build_measure_monthly
from tests.benefits.test_realise import N_MONTHS, N_SITES, SERIES_TYPES, load


def _edit_target(site: SiteConfig, benefit_id: str, value: float) -> SiteConfig:
    data = site.model_dump(mode="json", exclude_none=True)
    for b in data["benefits"]:
        if b["id"] == benefit_id:
            b["target"] = {**(b.get("target") or {}), "value": value}
    return SiteConfig(**data)


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def published(request, tmp_path):
    url = f"duckdb:///{tmp_path / 'wh.duckdb'}" if request.param == "duckdb" else request.getfixturevalue("pg_url")
    frame = build_measure_monthly(N_SITES, N_MONTHS, scale=0.03)
    wh, sites = load(url, frame)
    realise(wh, sites, suppression_threshold=7)
    month = wh.scalar("select max(as_of_month) from measures.fact_benefit_all where site_code = 'S001'")
    month = pd.Timestamp(month).date()
    counts = publish(wh, month, {s.ods_code: s.schema for s in sites})
    assert counts["local"] == 3 * N_SITES and counts["national"] == 2 * N_SITES
    yield wh, sites, frame, month
    wh.dispose()


def _published(wh, schema="measures", table="published_benefit_all"):
    return wh.query(f"select * from {schema}.{table} order by site_code, benefit_id")


def test_register_edit_and_data_correction_are_restatements_not_rewrites(published):
    wh, sites, frame, month = published
    before_local, before_national = _published(wh), _published(wh, "national", "published_benefit")
    # A register edit at one site and a data correction at another, then a rerun.
    sites = [_edit_target(sites[0], "S001-EPMA", 0.01), *sites[1:]]
    fixed = frame.copy()
    hit = (fixed["site_code"] == "S002") & (fixed["measure_code"] == "omitted_critical_doses_rate")
    fixed.loc[hit, "numerator"] = fixed.loc[hit, "numerator"] * 1.5
    fixed.loc[hit, "value"] = fixed.loc[hit, "numerator"] / fixed.loc[hit, "denominator"]
    with wh.begin() as conn:
        wh.replace_table(conn, "measures.measure_monthly", fixed, SERIES_TYPES)
    realise(wh, sites, suppression_threshold=7)

    pd.testing.assert_frame_equal(_published(wh), before_local)
    pd.testing.assert_frame_equal(_published(wh, "national", "published_benefit"), before_national)
    assert len(before_local) == 3 * N_SITES
    # Publishing the same month again changes nothing either.
    assert publish(wh, month, {s.ods_code: s.schema for s in sites}) == {"local": 0, "national": 0}
    pd.testing.assert_frame_equal(_published(wh), before_local)

    r = wh.query("select * from measures.benefit_restatement_all")
    s001 = r[r["benefit_id"] == "S001-EPMA"]
    assert set(s001["field"]) >= {"target_value"} and set(s001["cause"]) == {"register"}
    target = s001[s001["field"] == "target_value"].iloc[0]
    assert target["published_value"] == "0.06" and target["current_value"] == "0.01"
    assert target["published_register_version"] != target["current_register_version"]
    s002 = r[r["benefit_id"] == "S002-EPMA"]
    assert len(s002) and set(s002["cause"]) == {"data"} and {"latest_value", "value_gbp"} <= set(s002["field"]), s002
    assert not r["site_code"].isin(["S003", "S004"]).any()  # untouched sites: nothing restated
    local = wh.query("select * from local_s001.benefit_restatement")
    assert set(local["site_code"]) == {"S001"} and len(local) == len(r[r["site_code"] == "S001"])
    # National restatements state only national figures: what national.fact_benefit publishes now,
    # never a local figure the national mart withholds.
    national = wh.query("select * from national.benefit_restatement")
    assert len(national) and set(national["site_code"]) <= {"S001", "S002"} and set(national["scope"]) == {"national"}
    current = wh.query("select * from national.fact_benefit").set_index(["site_code", "benefit_id", "as_of_month"])
    for row in national.itertuples():
        now = current.loc[(row.site_code, row.benefit_id, row.as_of_month), row.field]
        assert row.current_value == _text(now), row
    versions = wh.query("select * from meta.register_version where site_code = 'S001' order by recorded_at")
    assert len(versions) == 2 and "S001-EPMA: target.value 0.06 -> 0.01" in versions["changes"].iloc[-1]


def test_register_hash_and_changes_in_words():
    from tests.benefits.synthetic import site_configs

    site = site_configs(1, 48)[0]
    edited = _edit_target(site, "S001-EPMA", 0.05)
    assert register_hash(site) == register_hash(SiteConfig(**site.model_dump(mode="json", exclude_none=True)))
    assert register_hash(site) != register_hash(edited)
    old = {b.id: b.model_dump(mode="json", exclude_none=True) for b in site.benefit_list}
    new = {b.id: b.model_dump(mode="json", exclude_none=True) for b in edited.benefit_list}
    del new["S001-LOS"]
    assert describe_changes(old, new) == "S001-LOS: removed; S001-EPMA: target.value 0.06 -> 0.05"


def test_publish_command_names_a_bad_month(tmp_path, monkeypatch):
    from pipeline.cli import _register, app

    _register()
    monkeypatch.setenv("BENEFITS_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["publish", "--as-of", "2019-13"])
    assert result.exit_code == 2 and "--as-of: expected a month as YYYY-MM, got '2019-13'" in result.output
    assert "Traceback" not in result.output


def test_a_published_table_from_an_older_version_gains_new_columns(tmp_path):
    """Columns added to fact_benefit later are added to published tables, null in old rows."""
    import sqlalchemy as sa

    frame = build_measure_monthly(N_SITES, N_MONTHS, scale=0.03)
    wh, sites = load(f"duckdb:///{tmp_path / 'wh.duckdb'}", frame)
    with wh.begin() as conn:
        conn.execute(sa.text("create table measures.published_benefit_all (site_code varchar, benefit_id varchar, "
                             "as_of_month date, status varchar)"))
        conn.execute(sa.text("insert into measures.published_benefit_all values ('S001', 'S001-EPMA', '2019-01-01', 'emerging')"))
    realise(wh, sites, suppression_threshold=7)
    old = wh.query("select * from measures.published_benefit_all")
    assert len(old) == 1 and old["status"].iloc[0] == "emerging" and old["effect_latest"].isna().all()
    assert "published_month" in old.columns
    wh.dispose()


def test_a_project_investment_edit_is_a_new_register_version_in_words(tmp_path):
    """The `projects:` block is part of the register: editing a project's shared investment in the
    site YAML gives a new version whose change names the project, the field, old and new."""
    import yaml

    from pipeline.config.sites import load_site

    frame = build_measure_monthly(N_SITES, N_MONTHS, scale=0.03)
    wh, sites = load(f"duckdb:///{tmp_path / 'wh.duckdb'}", frame)
    data = sites[0].model_dump(mode="json", exclude_none=True)
    data["projects"] = [{"name": "Closed-loop ePMA", "investment": {"one_off_gbp": 60000, "recurring_gbp_per_year": 12000,
                                                                   "source": "business case"}}]  # fmt: skip
    path = tmp_path / "S001.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    realise(wh, [load_site(path), *sites[1:]], suppression_threshold=7)
    month = pd.Timestamp(wh.scalar("select max(as_of_month) from measures.fact_benefit_all")).date()
    publish(wh, month, {s.ods_code: s.schema for s in sites})
    roi_before = wh.scalar("select roi from local_s001.benefit_investment_return where project = 'Closed-loop ePMA'")

    data["projects"][0]["investment"]["one_off_gbp"] = 90000
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    realise(wh, [load_site(path), *sites[1:]], suppression_threshold=7)

    versions = wh.query("select * from meta.register_version where site_code = 'S001' order by recorded_at")
    assert len(versions) == 2 and versions["version"].nunique() == 2
    assert versions["changes"].iloc[-1] == "project 'Closed-loop ePMA': investment.one_off_gbp 60000.0 -> 90000.0"
    assert versions["benefits"].tolist() == [3, 3]  # projects are not counted as benefits
    stamped = wh.scalar("select distinct register_version from local_s001.fact_benefit")
    assert stamped == versions["version"].iloc[-1]
    # The return moved with the investment, but no published figure did: ROI is never published,
    # so a project edit restates nothing.
    assert wh.scalar("select roi from local_s001.benefit_investment_return where project = 'Closed-loop ePMA'") != roi_before
    assert wh.scalar("select count(*) from measures.benefit_restatement_all where site_code = 'S001'") == 0
    wh.dispose()
