"""`benefits run` as a user runs it: corrupt extracts held or their bad lines quarantined, others
complete (kills at every stage: test_crash_matrix.py)."""

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
    # Only the header that lost a column holds its batch; a cut-off row and a line of bytes that
    # are not UTF-8 are quarantined with their line, and the rest of their files loads (#2).
    assert "site RJ1" in result.stderr
    for ok_site in ("RF4", "RRK", "RV5", "X24"):
        assert f"site {ok_site}" not in result.stderr

    engine = sa.create_engine(f"duckdb:///{home / 'benefits.duckdb'}")
    with engine.connect() as c:
        batches = {
            (r.site_code, r.source_name): r
            for r in c.execute(sa.text("select * from meta.load_batch")).fetchall()
        }
        held = {k for k, r in batches.items() if r.status != "loaded"}
        assert held == {("RJ1", "incidents")}
        incidents = batches[("RJ1", "incidents")].reason
        assert "patient_safety_incidents_2016-06.csv" in incidents and "missing column 'occurred_at'" in incidents
        assert all(r.rows_in == r.rows_loaded + r.rows_quarantined for r in batches.values())

        def count(sql):
            return c.execute(sa.text(sql)).scalar()

        def malformed(dataset, site):
            return c.execute(
                sa.text(f"select _conform_errors from quarantine.{dataset} where _site = :s and _failed_rules = 'malformed_line'"),
                {"s": site},
            ).scalars().all()

        [epma] = malformed("medication_administrations", "RF4")
        assert epma.startswith("malformed line ") and "of medication_administrations_2017-05.csv: expected " in epma
        [pas] = malformed("inpatient_spells", "RJ1")
        assert pas.startswith("malformed line 6 of inpatient_spells_2018-02.csv: bytes not valid utf-8 (0xe9 at byte ")
        assert count("select count(*) from staging.medication_administrations where _site = 'RF4'") > 0
        assert count("select count(*) from staging.inpatient_spells where _site = 'RJ1'") > 0
        # Nothing of a held batch reached staging or a mart.
        assert count("select count(*) from staging.patient_safety_incidents where _site = 'RJ1'") == 0
        # The healthy sites are complete.
        assert count("select count(distinct site_code) from national.fact_measure_monthly where measure_code = 'bed_days'") == 4
        assert count("select count(*) from local_rrk.fact_measure_monthly") > 0
    engine.dispose()
