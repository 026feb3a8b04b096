"""PostgreSQL: what every load deletes by is indexed, so a load costs the same whatever the
table already holds (a national run over hundreds of sites must not grow quadratically)."""

from __future__ import annotations

import pytest

from dataset_contracts.contracts import CONTRACTS
from pipeline.warehouse.core import Warehouse
from pipeline.warehouse.ddl import ensure_schema


@pytest.mark.postgres
def test_loaded_tables_are_indexed_for_what_loads_delete_by(pg_url):
    wh = Warehouse(pg_url)
    try:
        ensure_schema(wh)
        ensure_schema(wh)  # again: creating the indexes is idempotent
        defs = wh.query("select schemaname, tablename, indexdef from pg_indexes where schemaname in ('staging', 'quarantine')")
        for contract in CONTRACTS.values():
            keys = ", ".join(k.strip() for k in contract.key.split(","))
            for schema in ("staging", "quarantine"):
                got = " ".join(defs[(defs.schemaname == schema) & (defs.tablename == contract.name)]["indexdef"])
                for columns in ("(_site, _source_name, _period)", "(_batch_id)", f"({keys})"):
                    assert columns in got, (schema, contract.name, columns)

        # With a realistic number of other sites' rows, a batch's delete uses the index.
        with wh.begin() as conn:
            conn.exec_driver_sql(
                "insert into staging.patient_safety_incidents (incident_id, _site, _source_name, _period, _batch_id) "
                "select 'i' || g, 'S' || mod(g, 200), 'incidents', date '2018-01-01' + mod(g, 12) * interval '1 month', "
                "'b' || mod(g, 2400) from generate_series(1, 100000) g"
            )
            conn.exec_driver_sql("analyze staging.patient_safety_incidents")
        for where in (
            "_site = 'S7' and _source_name = 'incidents' and _period in (date '2018-03-01', date '2018-04-01')",
            "_batch_id = 'b17'",
        ):
            plan = "\n".join(wh.query(f"explain delete from staging.patient_safety_incidents where {where}").iloc[:, 0])
            assert "Index" in plan and "Seq Scan" not in plan, plan
    finally:
        wh.dispose()
