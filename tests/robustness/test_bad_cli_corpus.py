"""A corpus of bad command lines and bad environments: each ends the command with exit 2 in a
few lines naming the option, variable, file or value to fix, with no traceback, and before a
run touches the warehouse (issue 15, acceptance). Every command runs in a child process, in a
folder of its own (relative names, as a user types them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.robustness.cli import assert_clean_failure, benefits, clean_env

_SITE = "ods_code: RAA\nname: A trust\ntrust_type: acute\nregion: London\n"
_ITS = ["its", "--input", "series.csv", "--x", "month", "--y", "n", "--intervention", "2023-04", "--output", "o.json"]
_SPC = ["spc", "--input", "series.csv", "--x", "month", "--y", "n", "--output", "o.csv"]
_BACKFILL = ["backfill", "--sites", "s", "--site", "RAA"]


def _replace(args: list[str], option: str, value: str) -> list[str]:
    i = args.index(option)
    return [*args[: i + 1], value, *args[i + 2 :]]


CLI = {
    "an unknown command": (["frobnicate"], ["'frobnicate'"]),
    "an unknown option": (["run", "--no-such-option"], ["--no-such-option"]),
    "--sites given a file": (["run", "--sites", "afile"], ["--sites", "afile"]),
    "--summary-json given a folder": (["run", "--sites", "s", "--summary-json", "adir"], ["--summary-json", "adir", "folder"]),
    "--summary-json under a file": (["run", "--sites", "s", "--summary-json", "afile/x.json"], ["--summary-json", "afile/x.json"]),
    "backfill from month 13": ([*_BACKFILL, "--from", "2024-13", "--to", "2024-02"], ["--from", "'2024-13'"]),
    "backfill ending before it starts": ([*_BACKFILL, "--from", "2024-05", "--to", "2024-01"], ["--to 2024-01 is before --from 2024-05"]),
    "backfill of a site not configured": (["backfill", "--sites", "s", "--site", "XYZ", "--from", "2024-01", "--to", "2024-02"], ["XYZ"]),
    "publish as of a word": (["publish", "--sites", "s", "--as-of", "soon"], ["--as-of", "'soon'"]),
    "report of a missing sites folder": (["report", "--sites", "nope"], ["nope", "no such sites folder"]),
    "quarantine show with no warehouse": (["quarantine", "show", "b1"], ["no warehouse at", "benefits run"]),
    "its of a missing file": (_replace(_ITS, "--input", "missing.csv"), ["--input", "missing.csv"]),
    "its of a column not in the file": (_replace(_ITS, "--y", "nope"), ["series.csv", "--y", "'nope'"]),
    "its with no --x": (_ITS[:3], ["--x"]),
    "its of an unknown family": ([*_ITS, "--family", "cauchy"], ["--family", "'cauchy'"]),
    "its writing to a folder": (_replace(_ITS, "--output", "adir"), ["--output", "adir", "folder"]),
    "its writing under a file": (_replace(_ITS, "--output", "afile/o.json"), ["--output", "afile/o.json"]),
    "its with seasonality out of range": ([*_ITS, "--seasonality", "9"], ["--seasonality"]),
    "spc writing to a folder": (_replace(_SPC, "--output", "adir"), ["--output", "adir", "folder"]),
    "spc summary to a folder": ([*_SPC, "--summary", "adir"], ["--summary", "adir", "folder"]),
    "spc improvement a word": ([*_SPC, "--improvement", "upwards"], ["--improvement"]),
    "spc rebased at a word": ([*_SPC, "--rebase", "later"], ["--rebase", "'later'"]),
}  # fmt: skip

# variables (with `run`): each names the variable and its value
ENV = {
    "suppression threshold below 0": ({"BENEFITS_SUPPRESSION_THRESHOLD": "-3"}, ["BENEFITS_SUPPRESSION_THRESHOLD", "-3"]),
    "suppression threshold a fraction": ({"BENEFITS_SUPPRESSION_THRESHOLD": "2.5"}, ["BENEFITS_SUPPRESSION_THRESHOLD", "'2.5'"]),
    "DuckDB memory below 0": ({"BENEFITS_DUCKDB_MEMORY": "-1GB"}, ["BENEFITS_DUCKDB_MEMORY", "'-1GB'"]),
    "alert timeout below 0": ({"BENEFITS_ALERT_TIMEOUT_SECONDS": "-5"}, ["BENEFITS_ALERT_TIMEOUT_SECONDS", "'-5'"]),
    "alert timeout of two hours": ({"BENEFITS_ALERT_TIMEOUT_SECONDS": "7200"}, ["BENEFITS_ALERT_TIMEOUT_SECONDS", "'7200'"]),
    "PREFECT_HOME a file": ({"PREFECT_HOME": "afile"}, ["PREFECT_HOME", "afile", "not a folder"]),
    "BENEFITS_HOME a file": ({"BENEFITS_HOME": "afile"}, ["BENEFITS_HOME", "afile"]),
    "a warehouse file that is not DuckDB": ({"BENEFITS_WAREHOUSE_URL": "duckdb:///junk.duckdb"},
                                             ["BENEFITS_WAREHOUSE_URL", "junk.duckdb", "not a valid DuckDB"]),
    "a misspelt engine": ({"BENEFITS_WAREHOUSE_URL": "duckdbb:///x.duckdb"}, ["BENEFITS_WAREHOUSE_URL", "'duckdbb'"]),
    "a DuckDB file named after a schema": ({"BENEFITS_WAREHOUSE_URL": "duckdb:///national.duckdb"},
                                            ["BENEFITS_WAREHOUSE_URL", "national.duckdb", "named after a warehouse schema"]),
    "a port that is not a number": ({"BENEFITS_WAREHOUSE_URL": "postgresql+psycopg://u@127.0.0.1:notaport/x"},
                                     ["BENEFITS_WAREHOUSE_URL", "notaport"]),
    "a PostgreSQL URL without a driver, unreachable": ({"BENEFITS_WAREHOUSE_URL": "postgresql://u@127.0.0.1:1/x"},
                                                        ["BENEFITS_WAREHOUSE_URL", "port 1"]),
    "an unset variable in a site file": ({}, ["RAA.yaml", "NO_SUCH_VAR_CLI"]),
}  # fmt: skip


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "RAA.yaml").write_text(_SITE)
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    (tmp_path / "junk.duckdb").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "series.csv").write_text("month,n\n" + "".join(f"2023-{m:02d},{10 + m}\n" for m in range(1, 13)))
    return tmp_path


@pytest.mark.parametrize("case", sorted(CLI))
def test_a_bad_command_line_is_named(tmp_path, case):
    args, names = CLI[case]
    result = benefits(*args, env=clean_env(_folder(tmp_path)), cwd=tmp_path, timeout=60)
    assert_clean_failure(result, names, code=2)
    assert not (tmp_path / "benefits" / "benefits.duckdb").exists()
    assert not (tmp_path / "o.json").exists() and not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("case", sorted(ENV))
def test_a_bad_environment_is_named(tmp_path, case):
    variables, names = ENV[case]
    _folder(tmp_path)
    if not variables:
        (tmp_path / "s" / "RAA.yaml").write_text(_SITE + "sources:\n- {name: pas, connector: files, dataset: inpatient_spells, "
                                                 "options: {path: '${NO_SUCH_VAR_CLI}/x.csv'}}\n")  # fmt: skip
    result = benefits("run", "--sites", "s", env=clean_env(tmp_path, **variables), cwd=tmp_path, timeout=60)
    assert_clean_failure(result, names, code=2)
    assert not (tmp_path / "benefits" / "benefits.duckdb").exists()
    assert not list(tmp_path.glob("**/prefect-api.log"))  # the run stopped before Prefect started
