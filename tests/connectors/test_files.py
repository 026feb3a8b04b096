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


def malformed(result) -> dict[int, str]:
    """line number -> the text the malformed line carries in _conform_errors."""
    return {m.line: m.text for m in result.malformed}


def test_wrong_encoding_names_file_and_line(tmp_path):
    # Every line with a byte outside UTF-8 is set aside (named, with the hint), not the whole file.
    write_csv(tmp_path / "d" / "inc_2024-03.csv", rows(), encoding="cp1252")
    result = run(tmp_path, {"path": "d/*.csv"})
    assert result.rows == 4 and list(malformed(result)) == [2]
    msg = malformed(result)[2]
    assert msg.startswith("malformed line 2 of inc_2024-03.csv: bytes not valid utf-8 (0xe9 at byte ")
    assert "cp1252" in msg  # the hint
    assert result.table.column("incident_id").to_pylist()[:3] == ["INC00002", "INC00003", "INC00004"]


def test_bad_bytes_far_down_a_large_file_name_their_line(tmp_path):
    # DuckDB finds them while it reads (in parallel, chunk by chunk); the connector then names
    # the exact line and byte, whatever chunk they were in.
    path = write_csv(tmp_path / "d" / "inc_2024-03.csv", incident_rows(1, 40_000, dt.datetime(2024, 3, 1, 8)))
    lines = path.read_bytes().split(b"\n")
    lines[31_337] = lines[31_337].replace(b"W", b"\xe9", 1)  # line 31,338 of the file (the header is line 1)
    byte = len(b"\n".join(lines[:31_337])) + 1 + lines[31_337].index(b"\xe9")
    path.write_bytes(b"\n".join(lines))
    result = run(tmp_path, {"path": "d/*.csv"})
    assert result.rows == 40_000 and result.conform_errors == 1
    msg = malformed(result)[31_338]
    assert "inc_2024-03.csv" in msg and f"(0xe9 at byte {byte})" in msg and "cp1252" in msg


def test_malformed_row_names_file_and_line(tmp_path):
    path = write_csv(tmp_path / "d" / "inc_2024-03.csv", rows(6))
    lines = path.read_text().splitlines()
    lines[4] = "INC99999,RF4,W01"  # line 5: three fields instead of eight
    lines[2] += ",extra"  # line 3: nine
    path.write_text("\n".join(lines) + "\n")
    result = run(tmp_path, {"path": "d/*.csv"})
    # the good rows flow on; each bad line is a row of its own, with no values and the file's lineage
    assert result.rows == 6
    assert malformed(result) == {
        3: f"malformed line 3 of inc_2024-03.csv: expected 8 columns, found 9: {lines[2]!r}",
        5: "malformed line 5 of inc_2024-03.csv: expected 8 columns, found 3: 'INC99999,RF4,W01'",
    }
    bad = [r for r in result.table.to_pylist() if r["_conform_errors"]]
    assert [r["incident_id"] for r in bad] == [None, None]
    assert {(r["_source_file"], r["_period"]) for r in bad} == {("inc_2024-03.csv", dt.date(2024, 3, 1))}


def test_unterminated_quote_is_one_malformed_line(tmp_path):
    path = write_csv(tmp_path / "d" / "inc_2024-03.csv", rows(5))
    lines = path.read_text().splitlines()
    lines[-1] = lines[-1].replace(",", ',"', 1)  # the last line opens a quote it never closes
    path.write_text("\n".join(lines) + "\n")
    result = run(tmp_path, {"path": "d/*.csv"})
    assert result.rows == 5 and list(malformed(result)) == [6]
    assert "unterminated quote" in malformed(result)[6]


def test_an_open_quote_mid_file_names_the_lines_it_swallowed(tmp_path):
    # An open quote takes the following lines into its value until a quote closes it (here the
    # first quote of line 5): lines 3 to 5 become one malformed row, said so in its reason.
    path = write_csv(tmp_path / "d" / "inc_2024-03.csv", rows(6))
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(",", ',"', 1)
    lines[4] = lines[4].replace(",", ',"x",', 1)
    path.write_text("\n".join(lines) + "\n")
    result = run(tmp_path, {"path": "d/*.csv"})
    assert result.rows == 4 and list(malformed(result)) == [3]
    assert "(read as one row with the next 2 lines, to line 5)" in malformed(result)[3]


def test_a_line_over_the_readers_maximum_is_one_malformed_line(tmp_path):
    path = write_csv(tmp_path / "d" / "inc_2024-03.csv", rows(4))
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace("INC00002", "INC" + "9" * 3_000_000, 1)  # 3 MB: past DuckDB's 2 MB per line
    path.write_text("\n".join(lines) + "\n")
    result = run(tmp_path, {"path": "d/*.csv"})
    assert result.rows == 4 and list(malformed(result)) == [3]
    text = malformed(result)[3]
    assert "maximum line size of 2000000 bytes exceeded" in text and len(text) < 500  # the line is not copied whole


@pytest.mark.parametrize("content", [b"", b"\n", ",".join(INCIDENT_COLUMNS).encode() + b"\n"], ids=["0 bytes", "blank", "header only"])
def test_empty_file_is_zero_rows_and_named(tmp_path, content):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "inc_2024-03.csv").write_bytes(content)
    write_csv(tmp_path / "d" / "inc_2024-04.csv", rows(3, dt.datetime(2024, 4, 2)))
    result = run(tmp_path, {"path": "d/*.csv"})
    assert result.rows == 3  # the other file is read
    assert result.connector.empty_files == ["inc_2024-03.csv"]
    assert "inc_2024-03.csv: the file is empty; nothing to load from it" in result.warnings
    assert set(result.new_state["files"]) == {"inc_2024-03.csv", "inc_2024-04.csv"}


def test_only_empty_files_are_zero_rows_not_an_error(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "inc_2024-03.csv").write_bytes(b"")
    (tmp_path / "d" / "inc_2024-04.csv").write_text(",".join(INCIDENT_COLUMNS) + "\n")
    result = run(tmp_path, {"path": "d/*.csv"})
    assert result.rows == 0 and result.connector.empty_files == ["inc_2024-03.csv", "inc_2024-04.csv"]


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


def test_many_monthly_files_are_one_scan_within_a_small_memory_limit(tmp_path):
    """DuckDB gives every CSV scan its own read buffers: a trust's 40 monthly files read as 40
    scans ran out of a 64 MB limit before the first rows came (and out of the default 1 GB on a
    large trust's ePMA extract); one scan over the files reads them within it."""
    import duckdb

    from connectors.base import ExtractContext
    from connectors.registry import get_connector

    header = ",".join(INCIDENT_COLUMNS)
    line = ",".join(["INC1", "RF4", "W01", "2024-03-01 08:00:00", "2024-03-01 09:00:00", "MED", "LOW", "ADMIN"]) + "\n"
    for i in range(40):
        month = f"{2016 + i // 12}-{i % 12 + 1:02d}"
        (tmp_path / "d").mkdir(exist_ok=True)
        (tmp_path / "d" / f"inc_{month}.csv").write_text(header + "\n" + line * 45_000)  # ~3 MB
    ctx = ExtractContext(site_code="RF4", dataset=DS, source_name="inc", base_dir=tmp_path, work_dir=tmp_path / "w")
    connector = get_connector("files")({"path": "d/*.csv", "columns": dict(INCIDENT_COLUMNS)}, ctx)
    # One thread: the buffers a scan holds at once are then the same on every machine.
    con = duckdb.connect(config={"memory_limit": "64MB", "preserve_insertion_order": True, "threads": 1})
    try:
        rel = connector.relation(con)
        con.register("src", rel)
        assert con.execute("select count(*) from (select * from src limit 1000)").fetchone() == (1000,)
        assert con.execute("select count(distinct _source_file), count(*) from src").fetchone() == (40, 40 * 45_000)
    finally:
        con.close()
        connector.close()
