"""The committed data dictionary is current, describes every mart column, and generation fails loudly."""

from __future__ import annotations

import shutil

import pytest
import yaml

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
    """A copy of sql/ (the dbt project) that a test may break, used in place of the real one."""
    root = tmp_path / "sql"
    shutil.copytree(models.sql_root(), root)
    monkeypatch.setattr(models, "sql_root", lambda: root)
    monkeypatch.setattr(dictionary, "sql_root", lambda: root)
    for cached in (models._env, models.model_docs, models.sources):
        cached.cache_clear()
    yield root
    for cached in (models._env, models.model_docs, models.sources):
        cached.cache_clear()


def _edit_yaml(path, model, edit):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(next(m for m in doc["models"] if m["name"] == model))
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def test_a_column_without_description_fails_generation(sql_copy):
    path = sql_copy / "models" / "marts" / "national" / "_national__models.yml"
    _edit_yaml(path, "national_dim_site", lambda m: m.update(columns=[c for c in m["columns"] if c["name"] != "region"]))
    with pytest.raises(DictionaryError, match=r"national_dim_site.sql: column region has no description"):
        dictionary.collect()


def test_a_description_of_no_column_fails_generation(sql_copy):
    path = sql_copy / "models" / "marts" / "local" / "_local__models.yml"
    _edit_yaml(path, "local_dim_ward", lambda m: m["columns"].append({"name": "ward_name", "description": "none such"}))
    with pytest.raises(DictionaryError, match="ward_name"):
        dictionary.collect()


def test_header_parsing():
    header, columns = models.parse_model_header(
        "-- grain: a x b\n-- description: first line\n--   second line\n-- column a: the a\n--   continued\n"
        "-- column b_2: the b\n\nselect 1 as a -- column c: not the header\n"
    )
    assert header == {"grain": "a x b", "description": "first line second line"}
    assert columns == {"a": "the a continued", "b_2": "the b"}
