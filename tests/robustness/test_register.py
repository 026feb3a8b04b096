"""A benefit register that loads but cannot give the answer its author expects warns, naming the
file and the field; `benefits its` quotes the value the user gave (issue 15 #17)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipeline.config.register_checks import baseline_warnings
from pipeline.config.sites import load_site
from tests.robustness.cli import assert_one_line_error, benefits, clean_env

_SITE = "ods_code: RAA\nname: A trust\ntrust_type: acute\nregion: London\n"
_BENEFIT = (
    "- id: RAA-EPMA\n  title: Fewer omitted doses\n  measure: omitted_critical_doses_rate\n"
    "  go_live: 2024-07\n  baseline: {{start: {start}, end: 2024-06}}\n"
)


def test_a_short_baseline_in_a_site_file_is_named(tmp_path):
    path = tmp_path / "RAA.yaml"
    path.write_text(_SITE + "benefits:\n" + _BENEFIT.format(start="2024-01"))
    (warning,) = baseline_warnings(load_site(path))
    assert f"{path.resolve()}: benefits.0.baseline" in warning and "6 month" in warning and "RAA-EPMA" in warning


def test_a_short_baseline_in_a_register_file_names_that_file(tmp_path):
    (tmp_path / "register.yaml").write_text(_BENEFIT.format(start="2024-03"))
    path = tmp_path / "RAA.yaml"
    path.write_text(_SITE + "benefits: register.yaml\n")
    (warning,) = baseline_warnings(load_site(path))
    assert warning.startswith(f"{tmp_path / 'register.yaml'}: benefits.0.baseline")


def test_a_twelve_month_baseline_is_quiet(tmp_path):
    path = tmp_path / "RAA.yaml"
    path.write_text(_SITE + "benefits:\n" + _BENEFIT.format(start="2023-07"))
    assert baseline_warnings(load_site(path)) == []


def test_a_target_on_the_wrong_side_of_the_baseline_warns(tmp_path, caplog):
    from pipeline.marts.realise import realise
    from tests.benefits.test_realise import load
    from tests.benefits.synthetic import build_measure_monthly

    wh, sites = load(f"duckdb:///{tmp_path / 'w.duckdb'}", build_measure_monthly(6, 48, scale=0.03))
    site = sites[0].model_copy(deep=True)
    site.path = tmp_path / "S001.yaml"
    site.benefits[0].target.value = 5.0  # omitted doses: lower is better, and the baseline rate is far below 5
    with caplog.at_level(logging.WARNING):
        realise(wh, [site, *sites[1:]], suppression_threshold=7)
    wh.dispose()
    found = [r.getMessage() for r in caplog.records if "target.value" in r.getMessage()]
    assert len(found) == 1, found
    assert found[0].startswith(f"{tmp_path / 'S001.yaml'}: benefits.0.target.value: 5 is above the baseline mean")


@pytest.mark.parametrize(
    ("given", "says"),
    [("2030-01", "'2030-01' is after the last month"), ("2020-01", "'2020-01' is at or before the first month"),
     ("40", "'40': row numbers"), ("2023-02", "'2023-02': too few points")],
)  # fmt: skip
def test_its_errors_quote_the_intervention_the_user_gave(tmp_path, given, says):
    data = tmp_path / "series.csv"
    data.write_text("month,n\n" + "".join(f"2023-{m:02d},{10 + m}\n" for m in range(1, 13)))
    result = benefits(
        "its", "--input", str(data), "--x", "month", "--y", "n", "--intervention", given,
        "--output", str(tmp_path / "out.json"), env=clean_env(tmp_path),
    )  # fmt: skip
    assert_one_line_error(result, "--intervention", says, str(data), code=2)


def test_a_register_file_carries_investment_and_projects(tmp_path):
    benefit = _BENEFIT.format(start="2023-07").replace("- id", "  - id").replace("\n  ", "\n    ")
    (tmp_path / "register.yaml").write_text(
        "benefits:\n" + benefit + "    project: ePMA\n    who_gains: patients\n"
        "    investment: {one_off_gbp: 1000, source: invoice 42}\n"
        "projects:\n  - {name: ePMA, investment: {one_off_gbp: 250000, recurring_gbp_per_year: 40000, "
        "source: business case}, who_bears_cost: pharmacy}\n"
    )
    path = tmp_path / "RAA.yaml"
    path.write_text(_SITE + "benefits: register.yaml\n")
    site = load_site(path)
    (b,) = site.benefit_list
    assert b.investment.one_off_gbp == 1000 and b.investment.start is None and b.who_gains == "patients"
    (p,) = site.projects
    assert p.investment.recurring_gbp_per_year == 40000 and p.who_bears_cost == "pharmacy"


def test_a_project_investment_with_no_start_and_no_benefit_is_named(tmp_path):
    from pipeline.config.sites import ConfigError

    path = tmp_path / "RAA.yaml"
    path.write_text(_SITE + "projects:\n  - {name: e-Obs, investment: {one_off_gbp: 5, source: x}}\n")
    with pytest.raises(ConfigError, match="project 'e-Obs': investment.start is needed when no benefit names the project"):
        load_site(path)


def test_an_nhs_number_in_an_evidence_item_stops_the_run_naming_file_and_field(tmp_path):
    sites = tmp_path / "sites"
    sites.mkdir()
    path = sites / "RAA.yaml"
    path.write_text(
        _SITE + "benefits:\n" + _BENEFIT.format(start="2023-07")
        + "  evidence:\n  - {date: 2024-09-02, kind: quote, text: 'Mrs A (943 476 5919) says thanks', author: PALS}\n"
    )  # fmt: skip
    result = benefits("run", "--sites", str(sites), env=clean_env(tmp_path))
    out = assert_one_line_error(result, "RAA.yaml", "benefits.0.evidence.0", "NHS number", code=2)
    assert "5919" not in out  # the identifier itself is not echoed to logs
