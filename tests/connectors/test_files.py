"""The `files` connector: encodings, delimiters, formats, content-hash state and bad files."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from connectors.base import ConnectorError
from connectors.runner import run_connector
from tests.connectors.sources import INCIDENT_COLUMNS, INCIDENT_MAPPINGS, incident_rows, write_csv

DS = "patient_safety_incidents"


def run(tmp_path, config, **kw):
    return run_connector(
        "files", {"columns": dict(INCIDENT_COLUMNS), **config}, dataset=DS, base_dir=tmp_path,
        mappings=INCIDENT_MAPPINGS, collect=True, work_dir=tmp_path / "work", **kw,
    )  # fmt: skip


def rows(n=4, start=dt.datetime(2024, 3, 1, 8)):
    out = incident_rows(1, n, start)
    out[0]["Location"] = "Café Ward £"  # bytes that differ between UTF-8 and cp1252
    return out


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings_as_trusts_export_them(tmp_path, encoding):
    write_csv(tmp_path / "d" / "inc_2024-03.csv", rows(), encoding=encoding)
    config = {"path": "d/*.csv", "encoding": "utf-8" if encoding == "utf-8-sig" else encoding}
    result = run(tmp_path, config)
    assert result.rows == 4
    assert result.table.column("ward_code").to_pylist()[0] == "Café Ward £"
    assert result.table.column("incident_id").to_pylist()[0] == "INC00001"  # BOM not glued to the first header


def test_delimiter_as_configured(tmp_path):
    write_csv(tmp_path / "d" / "inc_2024-03.csv", rows(), delimiter=";")
    result = run(tmp_path, {"path": "d/*.csv", "delimiter": ";"})
    assert result.rows == 4 and result.conform_errors == 0


def test_wrong_encoding_names_file_and_line(tmp_path):
    write_csv(tmp_path / "d" / "inc_2024-03.csv", rows(), encoding="cp1252")
    with pytest.raises(ConnectorError) as e:
        run(tmp_path, {"path": "d/*.csv"})
    msg = str(e.value)
    assert "files:extract" in msg and "inc_2024-03.csv" in msg and "line 2" in msg
    assert "cp1252" in msg  # the hint


def test_bad_bytes_far_down_a_large_file_name_their_line(tmp_path):
    # DuckDB finds them while it reads (in parallel, chunk by chunk); the connector then names
    # the exact line and byte, whatever chunk they were in.
    path = write_csv(tmp_path / "d" / "inc_2024-03.csv", incident_rows(1, 40_000, dt.datetime(2024, 3, 1, 8)))
    lines = path.read_bytes().split(b"\n")
    lines[31_337] = lines[31_337].replace(b"W", b"\xe9", 1)  # line 31,338 of the file (the header is line 1)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ConnectorError) as e:
        run(tmp_path, {"path": "d/*.csv"})
    msg = str(e.value)
    assert "inc_2024-03.csv" in msg and "line 31338" in msg and "0xe9" in msg and "cp1252" in msg


def test_malformed_row_names_file_and_line(tmp_path):
    path = write_csv(tmp_path / "d" / "inc_2024-03.csv", rows(6))
    lines = path.read_text().splitlines()
    lines[4] = "INC99999,RF4,W01"  # line 5: three fields instead of eight
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConnectorError) as e:
        run(tmp_path, {"path": "d/*.csv"})
    msg = str(e.value)
    assert "inc_2024-03.csv" in msg and "line 5" in msg and "expected 8 columns, found 3" in msg


def test_empty_file(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "inc_2024-03.csv").write_bytes(b"")
    with pytest.raises(ConnectorError, match=r"files:extract: .*inc_2024-03.csv: the file is empty"):
        run(tmp_path, {"path": "d/*.csv"})


def test_header_only_file_is_zero_rows_not_an_error(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "inc_2024-03.csv").write_text(",".join(INCIDENT_COLUMNS) + "\n")
    assert run(tmp_path, {"path": "d/*.csv"}).rows == 0


def test_missing_column_names_file_and_column(tmp_path):
    data = [{k: v for k, v in r.items() if k != "Harm"} for r in rows()]
    write_csv(tmp_path / "d" / "inc_2024-03.csv", data)
    with pytest.raises(ConnectorError) as e:
        run(tmp_path, {"path": "d/*.csv"})
    assert "inc_2024-03.csv: missing column 'harm_level'" in str(e.value)


def test_renamed_column_is_reported_as_missing_and_new(tmp_path):
    data = [{("HarmLevel" if k == "Harm" else k): v for k, v in r.items()} for r in rows()]
    write_csv(tmp_path / "d" / "inc_2024-04.csv", data)
    write_csv(tmp_path / "d" / "inc_2024-03.csv", rows())
    with pytest.raises(ConnectorError) as e:
        run(tmp_path, {"path": "d/*.csv"})
    msg = str(e.value)
    # only the file whose header changed is named
    assert "inc_2024-04.csv: missing column 'harm_level'" in msg and "inc_2024-03.csv" not in msg


def test_same_file_twice_is_not_loaded_twice_and_a_changed_file_is(tmp_path):
    path = write_csv(tmp_path / "d" / "inc_2024-03.csv", rows())
    first = run(tmp_path, {"path": "d/*.csv"})
    assert first.rows == 4
    assert run(tmp_path, {"path": "d/*.csv"}, state=first.new_state).rows == 0
    write_csv(path, rows(6))  # same name, new content: a new batch
    again = run(tmp_path, {"path": "d/*.csv"}, state=first.new_state)
    assert again.rows == 6 and again.new_state["files"]["inc_2024-03.csv"] != first.new_state["files"]["inc_2024-03.csv"]


def test_parquet_and_xlsx(tmp_path):
    frame = pd.DataFrame(rows(5))
    (tmp_path / "p").mkdir()
    frame.to_parquet(tmp_path / "p" / "inc_2024-03.parquet", index=False)
    frame.to_excel(tmp_path / "p" / "inc_2024-04.xlsx", index=False)
    pq = run(tmp_path, {"path": "p/*.parquet"})
    xl = run(tmp_path, {"path": "p/*.xlsx", "batch_size": 2})  # several spooled parts
    assert pq.rows == xl.rows == 5
    assert pq.table.column("incident_id").to_pylist() == xl.table.column("incident_id").to_pylist()
    assert xl.table.column("_period").to_pylist()[0] == dt.date(2024, 4, 1)


def test_backfill_takes_the_months_files_again(tmp_path):
    write_csv(tmp_path / "d" / "inc_2024-03.csv", rows())
    write_csv(tmp_path / "d" / "inc_2024-04.csv", rows(3, dt.datetime(2024, 4, 2)))
    first = run(tmp_path, {"path": "d/*.csv"})
    back = run(tmp_path, {"path": "d/*.csv"}, state=first.new_state, period=(dt.date(2024, 4, 1), dt.date(2024, 4, 1)))
    assert back.rows == 3


def test_limit_does_not_save_state(tmp_path):
    write_csv(tmp_path / "d" / "inc_2024-03.csv", rows(6))
    result = run(tmp_path, {"path": "d/*.csv"}, limit=2)
    assert result.rows == 2 and result.truncated and result.new_state == {}
