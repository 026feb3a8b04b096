"""The committed data dictionary is current, describes every mart column, and generation fails loudly."""

from __future__ import annotations

import shutil

import pytest

from pipeline.marts import dictionary
from pipeline.marts.dictionary import DEFAULT_OUTPUT, DictionaryError
from pipeline.warehouse import models


def test_committed_dictionary_is_current():
    text = dictionary.generate()
    assert DEFAULT_OUTPUT.read_text(encoding="utf-8") == text, "docs/data-dictionary.md is stale: run `benefits docs`"


def test_every_mart_table_and_column_is_described(duck):
    tables = {t.fqn: t for t in dictionary.collect()}
    built = duck.wh.query(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema = 'national' or table_schema = 'local_rf4'"
    )
    for row in built.itertuples(index=False):
        schema = "local_<ods>" if row.table_schema.startswith("local_") else row.table_schema
        table = tables.get(f"{schema}.{row.table_name}")
        assert table is not None, f"{row.table_schema}.{row.table_name} is not in the data dictionary"
        described = {c.name: c.description for c in table.columns}
        assert described.get(row.column_name), f"{row.table_schema}.{row.table_name}.{row.column_name}"
    text = DEFAULT_OUTPUT.read_text(encoding="utf-8")
    for reason in ("small_count", "complementary", "shared_count"):
        assert f"`{reason}`" in text
    assert "`inpatient_falls_per_1000_bed_days`" in text  # a local measure
    assert "financial_quarter" in text and "week_start" in text


@pytest.fixture
def sql_copy(tmp_path, monkeypatch):
    """A copy of sql/ that a test may break, used in place of the real one."""
    root = tmp_path / "sql"
    shutil.copytree(models.sql_root(), root)
    monkeypatch.setattr(models, "sql_root", lambda: root)
    monkeypatch.setattr(dictionary, "sql_root", lambda: root)
    models._env.cache_clear()
    yield root
    models._env.cache_clear()


def test_a_column_without_description_fails_generation(sql_copy):
    path = sql_copy / "marts" / "national" / "dim_site.sql"
    text = path.read_text()
    path.write_text(text.replace("-- column region:", "-- note region:"), encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"dim_site.sql: column region has no `-- column region"):
        dictionary.collect()


def test_a_description_of_no_column_fails_generation(sql_copy):
    path = sql_copy / "marts" / "local" / "dim_ward.sql"
    path.write_text("-- column ward_name: there is no such column\n" + path.read_text(), encoding="utf-8")
    with pytest.raises(DictionaryError, match="ward_name"):
        dictionary.collect()


def test_header_parsing():
    header, columns = models.parse_model_header(
        "-- grain: a x b\n-- description: first line\n--   second line\n-- column a: the a\n--   continued\n"
        "-- column b_2: the b\n\nselect 1 as a -- column c: not the header\n"
    )
    assert header == {"grain": "a x b", "description": "first line second line"}
    assert columns == {"a": "the a continued", "b_2": "the b"}
