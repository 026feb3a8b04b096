"""Schema drift is found before validation and reported in words: which column, expected what, got what."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from dataset_contracts.contracts import get_contract
from tests.expectations.fixtures import AS_OF, clean_rows, fixture_name, site_config, write_csv

SPELLS = "inpatient_spells"


def _write(tmp_path, rows, columns, name=None):
    import csv

    path = tmp_path / (name or fixture_name(SPELLS))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def _check(file_validator, path, dataset=SPELLS):
    return file_validator.validate(dataset, path, site=site_config(), as_of=AS_OF)


def test_extra_column_is_reported_and_ignored(file_validator, tmp_path):
    rows = [{**r, "bed_number": "12"} for r in clean_rows(SPELLS, n=6)]
    path = _write(tmp_path, rows, get_contract(SPELLS).column_names + ["bed_number"])
    report = _check(file_validator, path)
    assert report.drift == [
        {
            "kind": "new_column",
            "column": "bed_number",
            "severity": "warning",
            "message": f"{path.name}: new column 'bed_number' is not in the inpatient_spells contract; it is ignored",
        }
    ]
    assert not report.held and report.valid_rows == 6


def test_missing_required_column_holds_the_batch(file_validator, tmp_path):
    columns = [c for c in get_contract(SPELLS).column_names if c != "ward_code"]
    path = _write(tmp_path, clean_rows(SPELLS, n=6), columns)
    report = _check(file_validator, path)
    message = f"{path.name}: missing column 'ward_code' (expected varchar, required); the batch is held"
    assert report.drift == [{"kind": "missing_column", "column": "ward_code", "severity": "fatal", "message": message}]
    assert report.held and message in report.hold_reasons


def test_missing_optional_column_is_filled_with_nulls(file_validator, tmp_path):
    columns = [c for c in get_contract(SPELLS).column_names if c != "discharge_destination"]
    path = _write(tmp_path, clean_rows(SPELLS, n=6), columns)
    report = _check(file_validator, path)
    assert [d["message"] for d in report.drift] == [
        f"{path.name}: missing column 'discharge_destination' (expected varchar, optional); filled with nulls"
    ]
    assert not report.held and report.valid_rows == 6


def test_text_column_of_the_wrong_type(file_validator, tmp_path):
    dataset = "medication_administrations"
    rows = clean_rows(dataset, n=8)
    for r in rows:
        r["dose_value"] = "ten mg"
    path = write_csv(tmp_path / fixture_name(dataset), get_contract(dataset), rows)
    report = _check(file_validator, path, dataset)
    assert [d["message"] for d in report.drift] == [
        "column 'dose_value': expected double, got text that mostly does not parse as double (0 of 8 sampled values "
        "do); values are converted where possible and the rest quarantined"
    ]
    # the values themselves fail the type rule (and are then missing), so the batch is held by threshold
    assert report.failed() == {"values_parse_as_contract_types": 8, "dose_value_not_null": 8}
    assert report.held


def test_typed_column_of_the_wrong_type(file_validator, tmp_path):
    import pandas as pd

    contract = get_contract(SPELLS)
    frame = pd.DataFrame(clean_rows(SPELLS, n=6)).replace("", None)
    for c in contract.columns:
        if c.type == "timestamp":
            frame[c.name] = pd.to_datetime(frame[c.name])
    table = pa.Table.from_pandas(frame, schema=contract.arrow_schema(), preserve_index=False)
    epoch = pa.array([1528020000 + i for i in range(6)], pa.int64())
    table = table.set_column(table.schema.get_field_index("admitted_at"), "admitted_at", epoch)
    path = tmp_path / f"{SPELLS}_2018-06.parquet"
    pq.write_table(table, path)
    report = _check(file_validator, path)
    assert [d["message"] for d in report.drift] == [
        "column 'admitted_at': expected timestamp, got BIGINT; values are converted where possible and the rest "
        "quarantined"
    ]
    assert report.result("values_parse_as_contract_types").unexpected_count == 6
