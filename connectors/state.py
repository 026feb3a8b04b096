"""Incremental state (watermarks): read through one helper, written only inside the load's transaction.

Writing the state in the same transaction as the rows it describes means a failed or killed
load can never advance the watermark past data that did not arrive.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.base import state_json


def read_state(wh, site_code: str, source_name: str) -> dict:
    raw = wh.scalar(
        "select state from meta.watermark where site_code = :s and source_name = :n",
        {"s": site_code, "n": source_name},
    )
    return json.loads(raw) if raw else {}


def write_state(conn: Connection, site_code: str, source_name: str, state: dict, batch_id: str) -> None:
    params = {"s": site_code, "n": source_name}
    conn.execute(sa.text("delete from meta.watermark where site_code = :s and source_name = :n"), params)
    conn.execute(
        sa.text(
            "insert into meta.watermark (site_code, source_name, state, batch_id, updated_at) "
            "values (:s, :n, :state, :b, current_timestamp)"
        ),
        {**params, "state": state_json(state), "b": batch_id},
    )
