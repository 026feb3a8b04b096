"""Observed benefits in the warehouse: `measures.observed_benefit_all`, each site's rows shown to
it as `local_<ods>.observed_benefit`. Kept in the warehouse like triage decisions (who recorded
what, when), not in the register: they are not evaluated, only reported."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from benefits.observed import Observation, next_id
from benefits.tables import OBSERVED_BENEFIT
from pipeline.marts.kept import ensure_kept, insert_rows, utc_now
from pipeline.warehouse.site_views import site_views
from pipeline.warehouse.core import Warehouse, ident

TABLE = "measures.observed_benefit_all"


def ensure(wh: Warehouse, schemas: dict[str, str] | None = None) -> None:
    with wh.begin() as conn:
        ensure_kept(conn, wh, TABLE, OBSERVED_BENEFIT)
        if schemas:
            site_views(conn, wh, schemas, TABLE, OBSERVED_BENEFIT.name, list(OBSERVED_BENEFIT.columns))


def add(wh: Warehouse, site: str, schema: str, obs: Observation) -> str:
    """Record one observation; returns its id."""
    ensure(wh, {site: schema})
    with wh.begin() as conn:
        ids = [r[0] for r in conn.execute(sa.text(f"select observation_id from {TABLE} where site_code = :s"), {"s": site})]
        oid = next_id(ids)
        insert_rows(conn, TABLE, [{"site_code": site, "observation_id": oid, "recorded_at": utc_now(), **obs.model_dump()}],
                    OBSERVED_BENEFIT.columns)  # fmt: skip
    return oid


def read(wh: Warehouse, site: str | None = None) -> pd.DataFrame:
    if not wh.table_exists("measures", "observed_benefit_all"):
        return pd.DataFrame(columns=list(OBSERVED_BENEFIT.columns))
    cols = ", ".join(ident(c) for c in OBSERVED_BENEFIT.columns)
    where = " where site_code = :s" if site else ""
    return wh.query(f"select {cols} from {TABLE}{where} order by site_code, recorded_at, observation_id", {"s": site})
