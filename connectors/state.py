"""Incremental state (watermarks): read through one helper, written only inside the load's transaction.

Writing the state in the same transaction as the rows it describes means a failed or killed
load can never advance the watermark past data that did not arrive.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.watermark import state_json


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


def read_state_file(path) -> dict:
    """State kept in a JSON file (`benefits extract --state-file`): a trial run without a warehouse."""
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8") or "{}")
    except ValueError as e:
        raise ValueError(f"{p}: not a JSON state file ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{p}: a state file holds a JSON object")
    return data


def write_state_file(path, state: dict) -> None:
    """Replace the file atomically, so a crash mid-write leaves the old state intact."""
    import os
    from pathlib import Path

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(json.dumps(state, sort_keys=True, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, p)
