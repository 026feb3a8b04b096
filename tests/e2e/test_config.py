"""Site configuration: the bundled demo loads, and every kind of mistake names its file and field."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from pipeline.config.sites import ConfigError, load_site, load_sites
from pipeline.config.settings import DEFAULT_SITES_DIR
from pipeline.runtime import simulation_spec
from tests.support.demo import ae_csv

VALID = """
ods_code: RAB
name: Example Trust
trust_type: acute
region: London
sources:
  - name: epma
    connector: files
    dataset: medication_administrations
    options: {path: drop/*.csv}
benefits:
  - id: RAB-1
    title: Fewer omitted doses
    measure: omitted_critical_doses_rate
    go_live: 2018-01
    baseline: {start: 2017-01, end: 2017-12}
"""


def write(tmp_path, text: str, name: str = "RAB.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_bundled_demo_configuration_is_complete():
    sites = {s.ods_code: s for s in load_sites(DEFAULT_SITES_DIR)}
    trusts = [s for s in sites.values() if s.role == "trust"]
    assert {"acute", "mental_health"} <= {s.trust_type for s in trusts}  # both kinds of simulated trust
    ae_orgs = set(pd.read_csv(ae_csv())["org_code"])
    publisher = sites["X24"]
    assert publisher.role == "publisher" and publisher.sources[0].dataset == "ae_monthly"
    for site in trusts:
        assert site.benefit_list, f"{site.ods_code} has no planned benefits"
        spec = simulation_spec(site)
        assert spec is not None
        assert (spec.start.isoformat(), spec.end.isoformat()) == ("2016-04-01", "2019-03-01")
        if site.trust_type == "acute":
            # A real trust in the national A&E file, with a benefit on the real A&E measure.
            assert site.ods_code in ae_orgs
            assert any(b.measure == "ae_4h_performance" for b in site.benefit_list)


def test_valid_config_loads(tmp_path):
    site = load_site(write(tmp_path, VALID))
    assert site.ods_code == "RAB" and site.schema == "local_rab"
    assert site.benefit_list[0].go_live.isoformat() == "2018-01-01"


@pytest.mark.parametrize(
    "change, field, words",
    [
        (("dataset: medication_administrations", "dataset: medication_admins"), "sources.0.dataset", "unknown dataset"),
        (("trust_type: acute", "trust_type: hospital"), "trust_type", "acute"),
        (("name: Example Trust\n", ""), "name", "required"),
        (("{start: 2017-01, end: 2017-12}", "{start: 2017-01, end: 2018-03}"), "benefits.0", "baseline must end before go-live"),
        (("go_live: 2018-01", "go_live: someday"), "benefits.0.go_live", "YYYY-MM"),
        (("region: London", "region: London\ncolour: blue"), "colour", "Extra inputs"),
    ],
)
def test_errors_name_file_and_field(tmp_path, change, field, words):
    path = write(tmp_path, VALID.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_site(path)
    message = str(err.value)
    assert "RAB.yaml" in message and field in message and words in message, message


def test_yaml_syntax_error_names_line(tmp_path):
    path = write(tmp_path, VALID.replace("region: London", "region: [London"))
    with pytest.raises(ConfigError, match=r"RAB\.yaml: line \d+"):
        load_site(path)


def test_file_name_must_match_ods_code(tmp_path):
    path = write(tmp_path, VALID, name="RXX.yaml")
    with pytest.raises(ConfigError, match="does not match the file name"):
        load_site(path)


def test_environment_interpolation(tmp_path, monkeypatch):
    text = VALID.replace("{path: drop/*.csv}", "{path: '${DROP_DIR:-/fallback}/*.csv'}")
    monkeypatch.delenv("DROP_DIR", raising=False)
    assert load_site(write(tmp_path, text)).sources[0].options["path"] == "/fallback/*.csv"
    monkeypatch.setenv("DROP_DIR", "/mnt/epma")
    assert load_site(write(tmp_path, text)).sources[0].options["path"] == "/mnt/epma/*.csv"
    missing = VALID.replace("{path: drop/*.csv}", "{path: '${NOT_SET_ANYWHERE}/x.csv'}")
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE is not set"):
        load_site(write(tmp_path, missing))


def test_benefits_from_a_separate_file(tmp_path):
    register = tmp_path / "benefits.yaml"
    register.write_text(
        "benefits:\n  - id: RAB-2\n    title: Shorter stays\n    measure: mean_los_emergency_days\n"
        "    go_live: 2018-06\n    baseline: {start: 2017-06, end: 2018-05}\n"
    )
    text = VALID.split("benefits:")[0] + "benefits: benefits.yaml\n"
    site = load_site(write(tmp_path, text))
    assert [b.id for b in site.benefit_list] == ["RAB-2"]


def test_duplicate_sites_and_unknown_filter(tmp_path):
    write(tmp_path, VALID)
    with pytest.raises(ConfigError, match="no configuration for site"):
        load_sites(tmp_path, ["RZZ"])
    with pytest.raises(ConfigError, match="no site configuration files"):
        load_sites(tmp_path / "empty" if (tmp_path / "empty").mkdir() is None else tmp_path)
