"""`benefits run` as a user runs it: corrupt extracts held, others complete (kills at every stage:
test_crash_matrix.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import demo
from tests.support.runs import run_cli

pytestmark = pytest.mark.slow


def corrupt_copy(simulated_root: Path, target: Path) -> Path:
    shutil.copytree(simulated_root, target)
    # RF4's ePMA: a file cut off in the middle of a row (a failed transfer).
    epma = target / "RF4" / "medication_administrations" / "medication_administrations_2017-05.csv"
    data = epma.read_bytes()
    epma.write_bytes(data[: len(data) // 2])
    # RJ1's incident system: an export whose header lost a column name.
    incidents = target / "RJ1" / "patient_safety_incidents" / "patient_safety_incidents_2016-06.csv"
    text = incidents.read_text()
    incidents.write_text(text.replace("DateOccurred", "Date Occurred", 1))
    # RJ1's PAS: bytes that are not UTF-8 (a Latin-1 'e acute' in a file declared UTF-8).
    spells = target / "RJ1" / "inpatient_spells" / "inpatient_spells_2018-02.csv"
    lines = spells.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b",", b",Caf\xe9 ", 1)
    spells.write_bytes(b"\n".join(lines))
    return target


def test_corrupt_extracts_are_held_and_other_sites_complete(tmp_path, simulated_root, prefect_home):
    broken = corrupt_copy(simulated_root, tmp_path / "extracts")
    sites = demo.write_sites(tmp_path / "sites", broken)
    home = tmp_path / "home"
    result = run_cli(sites, home, prefect_home)
    assert result.returncode == 1
    assert "site RF4" in result.stderr and "site RJ1" in result.stderr
    for ok_site in ("RRK", "RV5", "X24"):
        assert f"site {ok_site}" not in result.stderr

    engine = sa.create_engine(f"duckdb:///{home / 'benefits.duckdb'}")
    with engine.connect() as c:
        batches = {
            (r.site_code, r.source_name): r
            for r in c.execute(sa.text("select * from meta.load_batch")).fetchall()
        }
        held = {k for k, r in batches.items() if r.status != "loaded"}
        assert held == {("RF4", "epma"), ("RJ1", "incidents"), ("RJ1", "pas")}
        epma = batches[("RF4", "epma")].reason
        assert "medication_administrations_2017-05.csv" in epma and "line" in epma and "Expected Number of Columns" in epma
        incidents = batches[("RJ1", "incidents")].reason
        assert "patient_safety_incidents_2016-06.csv" in incidents and "missing column 'occurred_at'" in incidents
        pas = batches[("RJ1", "pas")].reason
        assert "inpatient_spells_2018-02.csv" in pas and "line" in pas and "utf-8" in pas.lower()

        # Nothing of a held batch reached staging or a mart.
        def count(sql):
            return c.execute(sa.text(sql)).scalar()

        assert count("select count(*) from staging.medication_administrations where _site = 'RF4'") == 0
        assert count("select count(*) from staging.patient_safety_incidents where _site = 'RJ1'") == 0
        assert count("select count(*) from staging.inpatient_spells where _site = 'RJ1'") == 0
        assert count(
            "select count(*) from national.fact_measure_monthly where site_code = 'RF4' "
            "and measure_code in ('omitted_critical_doses_rate', 'delayed_critical_doses_rate')"
        ) == 0
        assert count("select count(*) from national.fact_measure_monthly where site_code = 'RJ1' and measure_code = 'bed_days'") == 0
        # The healthy sites are complete.
        assert count("select count(distinct site_code) from national.fact_measure_monthly where measure_code = 'bed_days'") == 3
        assert count("select count(*) from local_rrk.fact_measure_monthly") > 0
    engine.dispose()
