"""The `sql` connector against real PostgreSQL and MariaDB: streaming, incremental, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from connectors.base import ConnectorError, TransientError
from connectors.runner import run_connector
from tests.connectors.fake_api import free_port
from tests.connectors.sources import INCIDENT_MAPPINGS, SQL_COLUMNS, create_incidents, sql_rows

DS = "patient_safety_incidents"


def run(config, **kw):
    return run_connector("sql", {"columns": dict(SQL_COLUMNS), **config}, dataset=DS, mappings=INCIDENT_MAPPINGS,
                         collect=True, **kw)


@pytest.fixture(params=["pg_url", "mariadb_url"])
def db_url(request):
    return request.getfixturevalue(request.param)


def test_query_returning_no_rows_names_the_source(db_url):
    create_incidents(db_url, sql_rows(1, 3))
    with pytest.raises(ConnectorError) as e:
        run({"url": db_url, "query": "select * from incidents where harm = 'NOPE'"})
    msg = str(e.value)
    assert not e.value.transient and "sql:extract" in msg and "query" in msg and "returned no rows" in msg
    assert run({"url": db_url, "query": "select * from incidents where harm = 'NOPE'", "allow_empty": True}).rows == 0


def test_streams_in_batches_with_a_column_null_in_the_first(db_url):
    create_incidents(db_url, sql_rows(1, 12))
    # `stage` is null in the first rows and text later: the batches' schemas differ
    query = "select ref, site, ward, occurred, reported, kind, harm, case when ref > 'INC00006' then 'ADMIN' end as stage from incidents"
    result = run({"url": db_url, "query": query, "batch_size": 3})
    assert result.rows == 12 and result.conform_errors == 0
    stages = dict(zip(result.table.column("incident_id").to_pylist(), result.table.column("medication_stage").to_pylist()))
    assert stages["INC00001"] is None and stages["INC00012"] == "administration"


def test_incremental_by_replication_key_in_key_order(db_url):
    create_incidents(db_url, sql_rows(1, 10))
    first = run({"url": db_url, "table": "incidents", "replication_key": "updated_at", "batch_size": 4}, limit=5)
    # a trial run stopped at --limit saves no state; the rows it got are the earliest
    assert first.truncated and first.new_state == {}
    full = run({"url": db_url, "table": "incidents", "replication_key": "updated_at"})
    assert full.rows == 10 and full.new_state["replication_key"] == "updated_at"
    assert full.new_state["replication_key_value"].startswith("2024-")


def test_backfill_selects_the_months(pg_url):
    create_incidents(pg_url, sql_rows(1, 60))  # one row every ~11 hours from March 2024
    state = run({"url": pg_url, "table": "incidents", "replication_key": "updated_at"}).new_state
    back = run({"url": pg_url, "table": "incidents", "replication_key": "updated_at"}, state=state,
               period=(dt.date(2024, 3, 1), dt.date(2024, 3, 1)))
    months = {d.month for d in back.table.column("occurred_at").to_pylist()}
    assert back.rows > 0 and months == {3}
    assert back.new_state == state  # a backfill never moves the watermark


def test_mariadb_through_its_own_driver_matches_the_fast_path(mariadb_url):
    create_incidents(mariadb_url, sql_rows(1, 9))
    fast = run({"url": mariadb_url, "table": "incidents", "batch_size": 4})
    plain = run({"url": mariadb_url, "table": "incidents", "batch_size": 4, "driver": "dbapi"})
    assert fast.table.to_pylist() == plain.table.to_pylist()


def test_any_sqlalchemy_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'epr.db'}"
    create_incidents(url, sql_rows(1, 5))
    assert run({"url": url, "table": "incidents", "batch_size": 2}).rows == 5


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_connection_refused_is_transient_and_retried(scheme):
    url = f"{scheme}://user:s3cret-pw-991@127.0.0.1:{free_port()}/epr"
    with pytest.raises(TransientError) as e:
        run({"url": url, "table": "incidents", "retries": 2, "backoff_seconds": 0.01})
    msg = str(e.value)
    assert "cannot reach the database" in msg or "refused" in msg, msg
    assert "127.0.0.1" in msg and "gave up after 3 attempts" in msg
    assert "s3cret-pw-991" not in msg
    assert e.value.connector.retries_done == 2


def test_statement_timeout_is_transient(pg_url):
    create_incidents(pg_url, sql_rows(1, 2))
    with pytest.raises(TransientError, match="timed out"):
        run({"url": pg_url, "query": "select *, pg_sleep(3) from incidents", "timeout_seconds": 1, "retries": 0})


def test_refused_credentials_are_permanent_and_never_shown(mariadb_url):
    url = sa.engine.make_url(mariadb_url).set(password="not-the-password-77")
    with pytest.raises(ConnectorError) as e:
        run({"url": url.render_as_string(hide_password=False), "table": "incidents", "backoff_seconds": 0.01})
    assert not e.value.transient and "refused the credentials" in str(e.value)
    assert "not-the-password-77" not in str(e.value) and e.value.connector.retries_done == 0


def test_unknown_table_is_permanent(pg_url):
    with pytest.raises(ConnectorError) as e:
        run({"url": pg_url, "table": "no_such_table"})
    assert not e.value.transient and "no_such_table" in str(e.value)
