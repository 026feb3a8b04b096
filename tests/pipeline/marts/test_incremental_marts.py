"""Incremental models (issue 16): after any sequence of loads, the runner's incremental build gives
the tables a full rebuild gives; a rerun gives the same warehouse; all in the build's one transaction.

The loads are written as load.py writes them (a batch's rows in staging with its `_period`, and its
record in meta.load_batch naming the months it replaced), on a copy of the demo's loaded data:
a new month, a correction of an old month, a rerun with nothing new. The copy holds the two trusts
the loads touch (RF4, RV5) and nothing else: every full rebuild compared costs a fraction of the
four-site build, and the site-month refresh is the same SQL.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from pipeline.marts.build import incremental_plan
from pipeline.warehouse import incremental
from tests.support.warehouse import mart_checksums

from .conftest import THRESHOLD, Built, clone, pg_clone

INCREMENTAL = {"measures.omitted_critical_doses_rate", "measures.delayed_critical_doses_rate"}
TABLE = "staging.medication_administrations"
SITES = ["RF4", "RV5"]  # the trusts the loads below change


@pytest.fixture
def two_trusts(duck, tmp_path) -> Built:
    """A private DuckDB warehouse with RF4's and RV5's loaded data and nothing built."""
    built = clone(duck, f"duckdb:///{tmp_path / 'copy.duckdb'}", tmp_path, only=SITES)
    yield built
    built.wh.dispose()


def _checksums(built: Built) -> dict[str, str]:
    return mart_checksums(built.wh.engine, ("measures",), exclude=())


def _build(built: Built, **kwargs) -> dict[str, str]:
    built.build(benefits=False, **kwargs)
    return _checksums(built)


def _planned(built: Built) -> incremental.Plan:
    """What the next build will refresh by site-month (read without building)."""
    return incremental_plan(built.wh, built.sites, suppression_threshold=THRESHOLD)


def _load(built: Built, batch: str, site: str, month: str, select: str) -> None:
    """A batch of `site` replacing `month` (YYYY-MM) with the rows `select` gives (from the table)."""
    with built.wh.begin() as conn:
        conn.execute(sa.text(f"create temporary table _batch as {select}"))
        conn.execute(sa.text(f"delete from {TABLE} where _site = :s and _period = date '{month}-01'"), {"s": site})
        cols = [c for c in built.wh.columns("staging", "medication_administrations") if c != "_row"]
        values = ", ".join(f"'{batch}'" if c == "_batch_id" else c for c in cols)
        conn.execute(sa.text(f"insert into {TABLE} ({', '.join(cols)}) select {values} from _batch"))
        conn.execute(sa.text("drop table _batch"))
        conn.execute(
            sa.text("insert into meta.load_batch (batch_id, site_code, dataset, source_name, connector, months, "
                    "loaded_at, status) values (:b, :s, 'medication_administrations', 'epma', 'test', :m, "
                    "current_timestamp, 'loaded')"),  # fmt: skip
            {"b": batch, "s": site, "m": month},
        )


def _last_month(built: Built, site: str) -> str:
    return str(built.wh.scalar(f"select max(_period) from {TABLE} where _site = '{site}'"))[:7]


def _sequence(built: Built, new_month: bool = True) -> None:
    """First build; then (with `new_month`) a new month loaded; then a correction of an old month. After
    the loads the incremental build equals a full rebuild, and a rerun changes nothing."""
    first = _build(built)  # first build: nothing recorded, every model in full
    assert set(_planned(built).incremental) == INCREMENTAL and _planned(built).changed == []
    cols = [c for c in built.wh.columns("staging", "medication_administrations") if c != "_row"]
    before = _new_month(built, first, cols) if new_month else first

    # A correction of an old month: fewer doses, some omitted that were given.
    old = str(built.wh.scalar(f"select min(_period) from {TABLE} where _site = 'RV5'"))[:7]
    fixed = ", ".join("'omitted' as status" if c == "status" else c for c in cols)
    _load(built, "test-correction", "RV5", old,
          f"select {fixed} from {TABLE} where _site = 'RV5' and _period = date '{old}-01' and administration_id like '%1'")  # fmt: skip
    assert [(c["site"], c["month"]) for c in _planned(built).changed] == [("RV5", f"{old}-01")]
    after_fix = _build(built)
    assert after_fix != before
    assert _build(built, full_refresh=True) == after_fix
    assert _build(built) == after_fix  # and a rerun of the same batch changes nothing


def _new_month(built: Built, first: dict[str, str], cols: list[str]) -> dict[str, str]:
    """RF4's last month loaded again a month later, as a new month; the checksums after it."""
    last = _last_month(built, "RF4")
    y, m = int(last[:4]), int(last[5:])
    new = f"{y + (m == 12)}-{m % 12 + 1:02d}"
    shift = "interval '1 month'"
    moved = ", ".join(
        f"{c} + {shift} as {c}" if c in ("scheduled_at", "administered_at", "_period")
        else f"administration_id || '-n' as {c}" if c == "administration_id" else c
        for c in cols
    )  # fmt: skip
    _load(built, "test-new-month", "RF4", new, f"select {moved} from {TABLE} where _site = 'RF4' and _period = date '{last}-01'")
    plan = _planned(built)
    assert set(plan.incremental) == INCREMENTAL
    assert [(c["site"], c["month"]) for c in plan.changed] == [("RF4", f"{new}-01")]
    after_new = _build(built)
    assert after_new != first
    # equal to a full rebuild is checked after the next load: a wrong refresh of this month would
    # still be in the incremental table then, as no later load touches RF4
    return after_new


@pytest.mark.slow
def test_incremental_build_equals_a_full_rebuild_after_each_load(two_trusts):
    _sequence(two_trusts)


@pytest.mark.slow
@pytest.mark.postgres
def test_incremental_build_on_postgres(duck, tmp_path):
    with pg_clone(duck, "benefits_incr", tmp_path, only=SITES) as built:
        _sequence(built, new_month=False)  # the DuckDB test loads a new month as well; the SQL is the same


def test_a_changed_model_is_built_in_full(two_trusts):
    """A changed var (or SQL, or source schema) changes the fingerprint: no model is refreshed by month."""
    two_trusts.build(benefits=False)
    assert set(_planned(two_trusts).incremental) == INCREMENTAL
    with two_trusts.wh.begin() as conn:
        conn.execute(sa.text("alter table staging.medication_administrations add column extra varchar"))
    assert _planned(two_trusts).incremental == set()
    two_trusts.build(benefits=False)
    assert set(_planned(two_trusts).incremental) == INCREMENTAL
    assert incremental_plan(two_trusts.wh, two_trusts.sites, suppression_threshold=THRESHOLD + 1).incremental == set()


def test_a_failed_build_leaves_the_refresh_and_its_record_undone(two_trusts):
    """Readers never see half a refresh: the site-months deleted and inserted, and what the build
    records, are in the build's one transaction; a step failing after them undoes them."""
    from pipeline.marts.build import _models_and_context
    from pipeline.warehouse.models import PythonModel, build

    _build(two_trusts)
    last = _last_month(two_trusts, "RF4")
    _load(two_trusts, "test-failing", "RF4", last, f"select * from {TABLE} where _site = 'RF4' "
          f"and _period = date '{last}-01' and administration_id like '%2'")  # fmt: skip
    planned = _planned(two_trusts)
    assert set(planned.incremental) == INCREMENTAL and planned.changed
    before = _checksums(two_trusts)  # the tables as last built (the views already show the load)

    def fail(wh, conn, context):
        raise sa.exc.DBAPIError("select 1", {}, RuntimeError("a later step failed"))

    models, context = _models_and_context(two_trusts.wh, two_trusts.sites, THRESHOLD, None)
    models.append(PythonModel("measures", "fails_last", fail, deps=("measures.disclosure_control",)))
    with pytest.raises(RuntimeError, match="a later step failed"):
        build(two_trusts.wh, models, context)
    assert _checksums(two_trusts) == before
    assert _planned(two_trusts).changed == planned.changed  # the batch is still to be built
