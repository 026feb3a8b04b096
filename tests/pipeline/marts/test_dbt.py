"""`dbt build` over sql/ (the same files the runner builds) gives the runner's tables, and the key tests pass.

Issue 16 #2: sql/ is a dbt project; the runner keeps its guarantees (one transaction, suppression
inside it) and dbt must build the same marts from the same files. pipeline.marts.dbt runs dbt
in-process: everything up to the suppression step (the local marts' all-sites tables included), the
step in Python, then the national tables that read it, then the sites' local_<ods> views (Python, the
runner's own step).
"""

from __future__ import annotations

import time

import pytest

from pipeline.marts.dbt import build_with_dbt, dbt_vars
from pipeline.warehouse.locks import staging_snapshot_lock
from tests.support.warehouse import mart_checksums, schema_tables

from .conftest import THRESHOLD, Built, clone, pg_clone

PYTHON_STEPS = {"measures.disclosure_control", "measures.local_views"}  # the runner's steps dbt leaves to Python


def _kinds(wh) -> dict[str, str]:
    rows = wh.query(
        "select table_schema || '.' || table_name as t, table_type from information_schema.tables "
        "where table_schema in ('staging', 'measures', 'national') or table_schema like 'local\\_%' escape '\\'"
    )
    return dict(zip(rows["t"], rows["table_type"]))


# One trust (with a local measure, so a local mart model) and the A&E publisher: every model kind
# dbt builds, at a fraction of the four demo sites' build (dbt and the runner each build it here).
SITES = ["RF4", "X24"]


@pytest.fixture
def small_copy(duck, tmp_path) -> Built:
    built = clone(duck, f"duckdb:///{tmp_path / 'small.duckdb'}", tmp_path, only=SITES)
    yield built
    built.wh.dispose()


@pytest.mark.slow
def test_dbt_build_gives_the_runners_tables(small_copy, tmp_path):
    wh = small_copy.wh
    t = time.perf_counter()
    runner_built = small_copy.build(benefits=False)
    runner_seconds = time.perf_counter() - t
    expected = mart_checksums(wh.engine, ("measures",))
    kinds = _kinds(wh)
    wh.dispose()

    run = build_with_dbt(wh, small_copy.sites, suppression_threshold=THRESHOLD, local=True,
                         target_path=tmp_path / "dbt")

    assert run.tests >= 45  # one unique_key test per model with a key; any failure raises
    assert set(run.built) == set(runner_built) - PYTHON_STEPS
    assert mart_checksums(wh.engine, ("measures",)) == expected
    assert _kinds(wh) == kinds  # views stay views, tables tables
    assert set(schema_tables(wh.engine, ["national"])) >= {"national.fact_measure_monthly", "national.dim_site"}
    print(f"runner {runner_seconds:.1f} s, dbt {sum(run.seconds.values()):.1f} s ({run.seconds})")


def test_dbt_vars_name_the_trusts_whose_local_marts_are_built(duck):
    vars_ = dbt_vars(duck.wh, duck.sites, suppression_threshold=THRESHOLD)
    assert vars_["trusts"] == ["RF4", "RRK", "RV5"]  # not X24, the A&E publisher: one local mart model each, over these
    assert {m["code"] for m in vars_["local_measures"]} == {"inpatient_falls_per_1000_bed_days"}
    assert {m["site"] for m in vars_["local_measures"]} == {"RF4"}


@pytest.mark.slow
@pytest.mark.postgres
def test_dbt_build_on_postgres_gives_the_runners_tables(duck, tmp_path):
    """The same with dbt-postgres, the profile's postgres target set from the warehouse URL."""
    with pg_clone(duck, "benefits_dbt", tmp_path, only=SITES) as built:
        runner_built = built.build(benefits=False)
        expected = mart_checksums(built.wh.engine, ("measures",))
        oid = "select 'national.fact_measure_monthly'::regclass::oid"
        before = built.wh.scalar(oid)
        with staging_snapshot_lock(built.wh):  # the advisory lock held around all invocations, as build-marts does
            run = build_with_dbt(built.wh, built.sites, suppression_threshold=THRESHOLD, local=True,
                                 target_path=tmp_path / "dbt")
        assert built.wh.scalar(oid) != before  # dbt rebuilt it here (not in some other warehouse)
        assert set(run.built) == set(runner_built) - PYTHON_STEPS
        assert mart_checksums(built.wh.engine, ("measures",)) == expected


def test_benefits_dbt_vars_prints_the_vars_a_plain_dbt_build_needs(home, small_sites):
    import json

    from typer.testing import CliRunner

    from pipeline.cli import app, _register

    _register()
    result = CliRunner().invoke(app, ["dbt", "vars", "--sites", str(small_sites)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {m["code"] for m in data["measures"]} >= {"bed_days", "omitted_critical_doses_rate"}
    assert len(data["calendar"]) > 100 and data["suppression_threshold"] >= 1
