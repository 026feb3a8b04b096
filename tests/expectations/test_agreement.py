"""The two executions of every rule agree: GX's unexpected count = the quarantine predicate's count.

Each dataset gets one fixture that breaks every row-level rule on rows of its own; the batch is
validated by Great Expectations in the warehouse and counted with the predicates the load uses to
split rows, on DuckDB and on PostgreSQL. The key rule is checked both ways a suite can hold it:
GX's own uniqueness expectation, and the count against the batch's table of repeated keys that
a load makes when the batch lands (`create_keys_table`).
"""

from __future__ import annotations

import duckdb
import pytest

from dataset_contracts.contracts import CONTRACTS, get_contract
from expectations.runner import GXValidator
from pipeline.ingest.landing import create_keys_table, create_landing, drop_landing, keys_table, landing_table
from pipeline.ingest.load import predicate_counts
from pipeline.warehouse.core import Warehouse
from tests.expectations.fixtures import AS_OF, TABLE_LEVEL, breaking_all, fixture_name, rules_for, site_config, write_csv


@pytest.fixture(scope="module")
def broken_batches(file_validator, tmp_path_factory):
    """dataset -> (harmonised batch, expected count per rule) for a fixture breaking every rule."""
    root = tmp_path_factory.mktemp("broken")
    out = {}
    for dataset in CONTRACTS:
        rows, expected = breaking_all(dataset)
        path = write_csv(root / dataset / fixture_name(dataset), get_contract(dataset), rows)
        out[dataset] = (file_validator.harmonise(dataset, path, site=site_config()), expected)
    return out


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def engine(request, file_validator):
    if request.param == "duckdb":
        yield file_validator.warehouse, file_validator.validator
        return
    url = request.getfixturevalue("pg_url_module")
    wh = Warehouse(url)
    wh.execute("create schema if not exists landing")
    yield wh, GXValidator(wh.gx_connection_string, wh.engine_kwargs)
    wh.dispose()


@pytest.mark.parametrize("keys", ["gx_unique", "keys_table"])
@pytest.mark.parametrize("dataset", sorted(CONTRACTS))
def test_gx_and_predicate_counts_agree(engine, broken_batches, dataset, keys):
    wh, validator = engine
    harmonised, expected = broken_batches[dataset]
    contract = get_contract(dataset)
    batch = f"agree_{dataset}"
    rules = rules_for(dataset, keys_table(batch) if keys == "keys_table" else None)
    key_rule = next(r for r in rules if r.unique_columns)
    assert (keys == "keys_table") == (key_rule.gx_type == "ExpectNoUnexpectedRows")
    table = create_landing(wh, batch, harmonised.path, contract)
    try:
        with duckdb.connect() as processing:
            create_keys_table(wh, batch, harmonised.path, contract, rules, processing)
        results = validator.validate("landing", table.split(".")[1], rules, harmonised.rows, dataset)
        with wh.connect() as conn:
            predicate = predicate_counts(conn, landing_table(batch), rules)
    finally:
        drop_landing(wh, batch)

    gx = {r.rule.name: r.unexpected_count for r in results if r.rule.name in predicate}
    assert not [r.exception for r in results if r.exception]
    # every row-level rule has a predicate, and every one was broken by the fixture
    assert set(predicate) == {r.name for r in rules if r.name not in TABLE_LEVEL}
    assert all(predicate[name] > 0 for name in predicate), predicate
    assert gx == predicate
    assert predicate == expected
