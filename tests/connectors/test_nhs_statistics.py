"""`nhs_statistics`: the published monthly A&E CSV maps onto ae_monthly exactly."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from connectors.base import ConnectorError
from connectors.runner import run_connector
from tests.connectors.fake_api import Reply
from tests.connectors.sources import NHS_DIR
from tests.support import demo


def bundled(months: list[str]) -> pd.DataFrame:
    d = pd.read_csv(demo.ae_csv(), dtype={"type": str})
    d = d[d["period"].isin(months)].rename(
        columns={"type": "dept_type", "breaches": "breaches_4h", "admissions": "emergency_admissions"}
    )
    d["period"] = pd.to_datetime(d["period"]).dt.date
    return d.sort_values(["org_code", "period", "dept_type"]).reset_index(drop=True)


def as_frame(result) -> pd.DataFrame:
    cols = ["period", "org_code", "dept_type", "attendances", "breaches_4h", "emergency_admissions"]
    return result.table.to_pandas()[cols].sort_values(["org_code", "period", "dept_type"]).reset_index(drop=True)


def test_published_files_equal_the_bundled_rows(tmp_path):
    shutil.copytree(NHS_DIR, tmp_path / "ae", ignore=shutil.ignore_patterns("*.py", "*.md"))
    result = run_connector("nhs_statistics", {"path": "ae/*.csv"}, base_dir=tmp_path, collect=True)
    got = as_frame(result)
    expected = bundled(["2019-02-01", "2019-03-01"])
    assert result.conform_errors == 0 and "TOTAL" not in set(got["org_code"])
    pd.testing.assert_frame_equal(got, expected[got.columns], check_dtype=False)
    assert set(result.table.column("_source_file").to_pylist()) == {"ae_monthly_2019-02.csv", "ae_monthly_2019-03.csv"}


def test_from_a_url_and_remembered_by_content(fake_api):
    body = (NHS_DIR / "ae_monthly_2019-03.csv").read_text()
    fake_api.route("/statistics/ae_monthly_2019-03.csv", lambda req: Reply(200, body, content_type="text/csv"))
    cfg = {"url": f"{fake_api.base}/statistics/ae_monthly_2019-03.csv"}
    first = run_connector("nhs_statistics", cfg, collect=True)
    assert first.rows == len(bundled(["2019-03-01"]))
    assert run_connector("nhs_statistics", cfg, state=first.new_state).rows == 0


def test_cp1252_and_booked_appointments(tmp_path):
    header = ("Period,Org Code,Parent Org,Org name,A&E attendances Type 1,A&E attendances Type 2,"
              "A&E attendances Other A&E Department,A&E attendances Booked Appointments Type 1,"
              "A&E attendances Booked Appointments Type 2,A&E attendances Booked Appointments Other Department,"
              "Attendances over 4hrs Type 1,Attendances over 4hrs Type 2,Attendances over 4hrs Other Department,"
              "Attendances over 4hrs Booked Appointments Type 1,Attendances over 4hrs Booked Appointments Type 2,"
              "Attendances over 4hrs Booked Appointments Other Department,Emergency admissions via A&E - Type 1,"
              "Emergency admissions via A&E - Type 2,Emergency admissions via A&E - Other A&E department")
    rows = ["MSitAE-MARCH-2024,TOTAL,-,TOTAL,100,0,50,10,0,0,20,0,5,1,0,0,30,0,2",
            "MSitAE-MARCH-2024,RF4,LONDON,BARKING – HAVERING,100,,50,10,,0,20,,5,1,,0,30,,2"]
    (tmp_path / "ae.csv").write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode("cp1252"))
    result = run_connector("nhs_statistics", {"path": "ae.csv", "encoding": "cp1252", "include_booked": True},
                           base_dir=tmp_path, collect=True)
    got = {r["dept_type"]: r for r in result.table.to_pylist()}
    assert set(got) == {"1", "other"}  # type 2 is blank: not reported
    assert got["1"]["period"] == dt.date(2024, 3, 1) and got["1"]["attendances"] == 110 and got["1"]["breaches_4h"] == 21
    assert got["other"]["attendances"] == 50 and got["other"]["emergency_admissions"] == 2


def test_wrong_layout_and_bad_period(tmp_path):
    (tmp_path / "x.csv").write_text("Period,Org Code,Attendances\nMSitAE-MARCH-2024,RF4,5\n")
    with pytest.raises(ConnectorError, match=r"x.csv: not the A&E monthly publication's layout: no column for attendances"):
        run_connector("nhs_statistics", {"path": "x.csv"}, base_dir=tmp_path)
    text = (NHS_DIR / "ae_monthly_2019-03.csv").read_text().replace("MSitAE-MARCH-2019", "MSitAE-MARCHE-2019")
    (tmp_path / "y.csv").write_text(text)
    with pytest.raises(ConnectorError, match=r"y.csv: Period 'MSitAE-MARCHE-2019' is not like MSitAE-MARCH-2024"):
        run_connector("nhs_statistics", {"path": "y.csv"}, base_dir=tmp_path)
