"""Every suite passes on clean data: simulated trust extracts without defects, and the real NHS A&E file."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.simulator import SimulationSpec, simulate_site
from tests.support import demo

DATASETS = ("medication_administrations", "patient_safety_incidents", "inpatient_spells")


@pytest.fixture(scope="module", params=["RF4", "RV5"])
def clean_site(request, tmp_path_factory):
    """A demo trust's extracts (its own local codes and column names) for a few months, no defects."""
    from pipeline.config.sites import load_sites
    from pipeline.config.settings import DEFAULT_SITES_DIR

    site = load_sites(DEFAULT_SITES_DIR, [request.param])[0]
    spec = SimulationSpec(
        **{
            **site.simulation,
            "ods_code": site.ods_code,
            "start": "2018-01",
            "end": "2018-03",
            "scale": demo.TEST_SCALE[site.trust_type],
            "defect_rate": 0.0,
        }
    )
    out = tmp_path_factory.mktemp(f"clean_{request.param}")
    simulate_site(spec, out)
    return site, out


@pytest.mark.parametrize("dataset", DATASETS)
def test_suite_passes_on_clean_simulated_extract(file_validator, clean_site, dataset):
    site, root = clean_site
    assert len(list((root / dataset).glob("*.csv"))) == 3
    # the three months as one batch, as a first run would extract them
    report = file_validator.validate(dataset, root / dataset / "*.csv", site=site, as_of=dt.datetime(2026, 1, 1))
    assert report.total_rows > 0 and report.drift == []
    assert report.failed() == {}, report.failed()
    assert report.quarantined_rows == 0 and not report.held


def test_suite_passes_on_the_real_ae_publication(file_validator):
    from pipeline.config.sites import load_sites
    from pipeline.config.settings import DEFAULT_SITES_DIR

    x24 = load_sites(DEFAULT_SITES_DIR, ["X24"])[0]
    report = file_validator.validate("ae_monthly", demo.ae_csv(), site=x24, as_of=dt.datetime(2026, 1, 1))
    # the publication's one organisation-month with more admissions than attendances: a warning only
    assert report.failed() == {"emergency_admissions_not_above_attendances": 1}
    assert report.result("emergency_admissions_not_above_attendances").rule.severity == "warning"
    assert report.quarantined_rows == 0 and not report.held and report.valid_rows == report.total_rows == 12765
