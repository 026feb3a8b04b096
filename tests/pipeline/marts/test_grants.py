"""PostgreSQL roles: real connections as each role; allowed reads work, forbidden ones are refused."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy as sa

from pipeline.warehouse.grants import GrantError, drop_roles, grant, plan_roles
from pipeline.marts.build import build_marts
from pipeline.warehouse.core import Warehouse

pytestmark = pytest.mark.postgres


@pytest.fixture
def roles(pg):
    prefix = f"t{uuid.uuid4().hex[:8]}_"  # roles are cluster-wide: never collide with another test database
    plan = grant(pg.wh, pg.sites, prefix=prefix, login=True)
    yield plan
    drop_roles(pg.wh, plan)
    with pg.wh.connect() as c:
        left = c.execute(sa.text("select count(*) from pg_roles where rolname like :p"), {"p": prefix + "%"}).scalar()
    assert left == 0


def as_role(pg, role: str) -> sa.Engine:
    url = sa.engine.make_url(pg.wh.url).set(username=role, password=None)
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def can_read(engine: sa.Engine, table: str) -> bool:
    """True when the role may select from `table`; False on a permission error (anything else fails the test)."""
    try:
        with engine.connect() as c:
            c.execute(sa.text(f"select * from {table} limit 1")).fetchall()
        return True
    except sa.exc.ProgrammingError as e:
        assert isinstance(e.orig, psycopg.errors.InsufficientPrivilege), e
        return False


def tables_of(pg, schema: str) -> list[str]:
    return [f"{schema}.{t}" for t in pg.wh.tables(schema)]


def check_plan(pg, plan) -> None:
    national = tables_of(pg, "national")
    assert len(national) >= 11
    # measures.*_all: every site's rows of a local mart, which each site reads through its own views
    forbidden_everywhere = ["staging.stg_medication_administrations", "staging.inpatient_spells",
                            "quarantine.medication_administrations", "measures.measure_monthly",
                            "measures.disclosure_control", "meta.load_batch", "measures.fact_measure_monthly_all",
                            "measures.dim_measure_all", "measures.dq_batch_all", "measures.fact_benefit_all"]
    reader = as_role(pg, plan.national_reader)
    try:
        assert all(can_read(reader, t) for t in national)
        for schema in ("local_rf4", "local_rrk", "local_rv5"):
            assert not can_read(reader, f"{schema}.fact_measure_monthly")
        for t in forbidden_everywhere:
            assert not can_read(reader, t), t
    finally:
        reader.dispose()

    for ods, role in plan.site_readers.items():
        own = plan.site_schemas[ods]
        engine = as_role(pg, role)
        try:
            assert all(can_read(engine, t) for t in tables_of(pg, own) + national)
            for other in set(plan.site_schemas.values()) - {own}:
                assert not any(can_read(engine, t) for t in tables_of(pg, other)), (role, other)
            for t in forbidden_everywhere:
                assert not can_read(engine, t), (role, t)
            with engine.connect() as c:  # the views over the all-sites tables show the site's own rows only
                for table in ("fact_measure_monthly", "fact_measure_ward_weekly", "dq_batch"):
                    seen = c.execute(sa.text(f"select site_code, count(*) from {own}.{table} group by 1")).fetchall()
                    assert [code for code, _ in seen] == [ods] and seen[0][1] > 0, (role, table, seen)
        finally:
            engine.dispose()


def test_each_role_reads_exactly_its_schemas(pg, roles):
    assert set(roles.site_readers) == {"RF4", "RRK", "RV5"}
    assert roles.site_readers["RF4"].endswith("site_rf4_reader")
    check_plan(pg, roles)

    # Readers cannot write, even to what they read.
    engine = as_role(pg, roles.site_readers["RF4"])
    try:
        with pytest.raises(sa.exc.ProgrammingError) as err, engine.begin() as c:
            c.execute(sa.text("delete from local_rf4.fact_measure_monthly"))
        assert isinstance(err.value.orig, psycopg.errors.InsufficientPrivilege)
    finally:
        engine.dispose()


def test_privileges_survive_rebuilds_by_the_loader_and_the_admin(pg, roles):
    loader_wh = Warehouse(sa.engine.make_url(pg.wh.url).set(username=roles.loader).render_as_string(hide_password=False))
    try:
        with loader_wh.connect() as c:
            assert c.execute(sa.text("select count(*) from staging.medication_administrations")).scalar() > 0
        # The pipeline run as the loader drops and recreates every mart table.
        build_marts(loader_wh, pg.sites, suppression_threshold=7)
        owners = pg.wh.query("select distinct tableowner from pg_tables where schemaname = 'national'")
        assert set(owners["tableowner"]) == {roles.loader}
    finally:
        loader_wh.dispose()
    check_plan(pg, roles)
    pg.build()  # and as the role that ran `grant`
    check_plan(pg, roles)


def test_grant_is_idempotent_and_needs_postgres(pg, roles, duck):
    again = grant(pg.wh, pg.sites, prefix=roles.loader.removesuffix("loader"), login=True)
    assert again == roles
    check_plan(pg, roles)
    with pytest.raises(GrantError, match="PostgreSQL"):
        grant(duck.wh, duck.sites, prefix="x_")
    with pytest.raises(GrantError, match="prefix"):
        plan_roles(duck.sites, prefix="Bad-Prefix")
