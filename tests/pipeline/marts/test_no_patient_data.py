"""No patient-level data in any national table or view: every column and its values are inspected."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

IDENTIFIERS = {
    "staging.medication_administrations": ["administration_id", "patient_ref"],
    "staging.inpatient_spells": ["spell_id", "patient_ref"],
    "staging.patient_safety_incidents": ["incident_id"],
}
FORBIDDEN_COLUMNS = re.compile(r"(patient|nhs_number|pseudonym|administration_id|incident_id|spell_id|_at$|time)")
TIME_OF_DAY = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")


def month_boundary(d: dt.date) -> bool:
    """First or last day of a month: what a monthly period's start or end looks like."""
    return d.day == 1 or (d + dt.timedelta(days=1)).day == 1


def test_no_national_column_holds_patient_level_data(duck):
    """Values are inspected on DuckDB (test_engines shows PostgreSQL's national mart holds the same rows)."""
    wh = duck.wh
    secrets: set[str] = set()
    for table, cols in IDENTIFIERS.items():
        frame = wh.query(f"select {', '.join(cols)} from {table}")
        for c in cols:
            secrets |= set(frame[c].dropna().astype(str))
    assert len(secrets) > 10_000

    columns = wh.query(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'national' order by table_name, ordinal_position"
    )
    assert columns["table_name"].nunique() >= 11
    problems = []
    for table, cols in columns.groupby("table_name", sort=True):
        frame = wh.query(f"select * from national.{table}")
        for col, dtype in zip(cols["column_name"], cols["data_type"]):
            where = f"national.{table}.{col}"
            dtype = str(dtype).lower()
            if FORBIDDEN_COLUMNS.search(col):
                problems.append(f"{where}: column name suggests a patient identifier or an event time")
            if "time" in dtype or "interval" in dtype:
                problems.append(f"{where}: {dtype} is finer than a month")
            values = frame[col].dropna()
            if values.empty:
                continue
            if dtype == "date":
                bad = [v for v in values if not month_boundary(pd.Timestamp(v).date())]
                if bad:
                    problems.append(f"{where}: dates within a month, e.g. {bad[0]}")
            if values.map(lambda v: isinstance(v, str)).all():
                text = values.astype(str)
                leaked = set(text) & secrets
                if leaked:
                    problems.append(f"{where}: holds identifiers of single records, e.g. {sorted(leaked)[0]}")
                timed = text[text.str.contains(TIME_OF_DAY)]
                if len(timed):
                    problems.append(f"{where}: holds a time of day, e.g. {timed.iloc[0]}")
    assert not problems, "\n".join(problems)


@pytest.mark.postgres
def test_no_national_column_has_a_time_type_on_postgres(pg):
    types = pg.wh.query(
        "select table_name, column_name, data_type from information_schema.columns where table_schema = 'national'"
    )
    assert types["table_name"].nunique() >= 11
    timed = types[types["data_type"].str.contains("time|interval")]
    assert timed.empty, timed.to_string()
