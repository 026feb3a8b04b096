"""`benefits spc` and `benefits its` on CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import _register, app

SICILY = Path(__file__).parent / "data" / "sicily_smoking_ban_aces_2002-2006.csv"


@pytest.fixture(scope="module")
def runner():
    _register()
    return CliRunner()


def test_spc_writes_points_and_summary(runner, tmp_path):
    months = pd.date_range("2021-01-01", periods=30, freq="MS").strftime("%Y-%m")
    values = [10, 11] * 9 + [6, 7, 6, 7, 6, 7, 6, 7, 6, 7, 6, 5.5]
    pd.DataFrame({"month": months, "omitted": values}).to_csv(tmp_path / "in.csv", index=False)
    out, summary = tmp_path / "out.csv", tmp_path / "summary.json"
    res = runner.invoke(
        app,
        ["spc", "--input", str(tmp_path / "in.csv"), "--x", "month", "--y", "omitted", "--improvement", "decrease",
         "--target", "9.5", "--rebase", "2022-07", "--output", str(out), "--summary", str(summary)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    points = pd.read_csv(out)
    assert list(points.columns[:8]) == ["x", "y", "mean", "lpl", "upl", "near_lpl", "near_upl", "point_type"]
    assert points["x"].iloc[0] == "2021-01-01" and points["group"].tolist() == [0] * 18 + [1] * 12
    info = json.loads(summary.read_text())
    assert info["assurance"] == "consistent_pass"  # the new process (6-7, upper limit about 9.1) always beats 9.5
    assert info["variation"] in ("common_cause", "special_cause_improvement")
    assert "variation" in res.output

    fixed = runner.invoke(
        app,
        ["spc", "--input", str(tmp_path / "in.csv"), "--x", "month", "--y", "omitted", "--improvement", "decrease",
         "--fix-after", "18", "--no-screen-outliers", "--output", str(out), "--summary", str(summary)],
    )  # fmt: skip
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(summary.read_text())["variation"] == "special_cause_improvement"


def test_spc_errors_name_the_problem(runner, tmp_path):
    pd.DataFrame({"m": ["2021-01", "bad"], "v": [1, 2]}).to_csv(tmp_path / "in.csv", index=False)
    res = runner.invoke(app, ["spc", "--input", str(tmp_path / "in.csv"), "--x", "m", "--y", "nope", "--output", str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "--y 'nope' is not a column" in res.output
    res = runner.invoke(app, ["spc", "--input", str(tmp_path / "in.csv"), "--x", "m", "--y", "v", "--output", str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "'bad' (row 3) is neither a number nor a date" in res.output
    res = runner.invoke(
        app, ["spc", "--input", str(tmp_path / "in.csv"), "--x", "v", "--y", "v", "--improvement", "up-ish", "--output", str(tmp_path / "o.csv")]
    )
    assert res.exit_code == 2 and "--improvement" in res.output


def test_its_on_the_sicily_example(runner, tmp_path):
    out = tmp_path / "its.json"
    res = runner.invoke(
        app,
        ["its", "--input", str(SICILY), "--x", "time", "--y", "aces", "--intervention", "37", "--offset", "stdpop",
         "--family", "quasipoisson", "--seasonality", "2", "--slope-change", "--output", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    assert result["intervention"] == {"row": 36, "x": 37}
    assert result["level_change"]["scale"] == "rate_ratio"
    assert result["level_change"]["ci_low"] < result["level_change"]["estimate"] < result["level_change"]["ci_high"]
    assert result["slope_change"] is not None and result["dispersion"] > 1
    assert set(result["coefficients"]) == {"intercept", "time", "level_change", "slope_change", "sin1", "cos1", "sin2", "cos2"}
    cf = result["counterfactual"]
    assert len(cf) == 59 and cf[0]["counterfactual"] is None and cf[40]["counterfactual"] > cf[40]["fitted"]


def test_its_with_dates_and_a_row_number(runner, tmp_path):
    d = pd.read_csv(SICILY)
    d["month_start"] = pd.to_datetime(dict(year=d["year"], month=d["month"], day=1)).dt.strftime("%Y-%m-%d")
    d.to_csv(tmp_path / "s.csv", index=False)
    by_date, by_row = tmp_path / "a.json", tmp_path / "b.json"
    common = ["its", "--input", str(tmp_path / "s.csv"), "--x", "month_start", "--y", "aces", "--offset", "stdpop", "--seasonality", "2"]
    assert runner.invoke(app, [*common, "--intervention", "2005-01", "--output", str(by_date)]).exit_code == 0
    assert runner.invoke(app, [*common, "--intervention", "36", "--output", str(by_row)]).exit_code == 0
    a, b = json.loads(by_date.read_text()), json.loads(by_row.read_text())
    assert a["level_change"] == b["level_change"]
    assert a["level_change"]["estimate"] == pytest.approx(0.885, abs=0.0006)
    assert a["intervention"]["x"] == "2005-01-01"


def test_its_gaussian_and_errors(runner, tmp_path):
    out = tmp_path / "g.json"
    d = pd.read_csv(SICILY).assign(rate=lambda f: f["aces"] / f["stdpop"] * 1e5)
    d.to_csv(tmp_path / "s.csv", index=False)
    res = runner.invoke(
        app, ["its", "--input", str(tmp_path / "s.csv"), "--x", "time", "--y", "rate", "--intervention", "37", "--family", "gaussian", "--output", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["level_change"]["scale"] == "difference"
    res = runner.invoke(
        app, ["its", "--input", str(SICILY), "--x", "time", "--y", "aces", "--intervention", "99", "--output", str(out)]
    )
    assert res.exit_code == 2 and "--intervention '99' is after the last time value" in res.output
    res = runner.invoke(
        app, ["its", "--input", str(SICILY), "--x", "time", "--y", "aces", "--intervention", "37", "--family", "tweedie", "--output", str(out)]
    )
    assert res.exit_code == 2 and "--family" in res.output
