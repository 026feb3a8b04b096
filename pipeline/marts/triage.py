"""Signal triage in the warehouse: the kept triage rows, their history, and the decisions.

`measures.signal_triage_all` holds every site's triage rows (each site sees its own as
`local_<ods>.signal_triage`); `meta.signal_triage_history` every event. `sync` runs after each
scan; `decide` records a decision from the command line; `accepted_benefits` gives `realise`
the register entries of accepted signals, merged with the YAML registers.

Accepted signals are kept in the warehouse rather than written into the site's register file:
the decision is a record of who decided what and when, made by whoever triages (often not who
may edit the deployed configuration, which is read-only in a container), and it takes effect on
the next run without a redeploy. The register version still records the new entry ("sig-...:
added"), and a trust that wants to value it or set a target copies the entry that
`benefits signals accept` prints into its register under the same id, which then takes precedence.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from benefits.register import Benefit
from benefits.tables import SIGNAL_TRIAGE
from benefits.triage import TriageError, accepted, decide, reconcile
from pipeline.config.sites import SiteConfig
from pipeline.marts.kept import db_value, ensure_kept, insert_rows, utc_now
from pipeline.warehouse.site_views import site_views
from pipeline.warehouse.core import Warehouse, ident

TABLE = "measures.signal_triage_all"
HISTORY_COLUMNS = ("signal_id", "site_code", "event_at", "event", "state", "reason", "note", "decided_by", "detail")


def ensure(wh: Warehouse, schemas: dict[str, str] | None = None) -> None:
    """The kept table, and each site's view of it."""
    with wh.begin() as conn:
        ensure_kept(conn, wh, TABLE, SIGNAL_TRIAGE)
        if schemas:
            site_views(conn, wh, schemas, TABLE, SIGNAL_TRIAGE.name, list(SIGNAL_TRIAGE.columns))


def _select(conn, site: str | None = None) -> pd.DataFrame:
    where = " where site_code = :s" if site else ""
    cols = ", ".join(ident(c) for c in SIGNAL_TRIAGE.columns)
    result = conn.execute(sa.text(f"select {cols} from {TABLE}{where} order by site_code, measure_code, first_month"),
                          {"s": site})  # fmt: skip
    frame = pd.DataFrame(result.fetchall(), columns=list(SIGNAL_TRIAGE.columns))
    for c, t in SIGNAL_TRIAGE.types.items():
        if t == "date":
            frame[c] = pd.to_datetime(frame[c]).dt.date
    return frame


def read(wh: Warehouse, site: str | None = None) -> pd.DataFrame:
    if not wh.table_exists("measures", "signal_triage_all"):
        return pd.DataFrame(columns=list(SIGNAL_TRIAGE.columns))
    with wh.connect() as conn:
        return _select(conn, site)


def sync(wh: Warehouse, unplanned: pd.DataFrame, sites: list[str], schemas: dict[str, str]) -> int:
    """Reconcile the kept triage rows of `sites` with this run's scan; returns the signals new
    since the last run (first detected or reopened)."""
    ensure(wh, schemas)
    now = utc_now()
    with wh.begin() as conn:
        if not wh.is_duckdb:
            # A decision recorded while the run reconciles waits for it, rather than being read
            # before and written over after (DuckDB has one writer process anyway).
            conn.execute(sa.text(f"lock table {TABLE} in share row exclusive mode"))
        after, events = reconcile(_select(conn), unplanned, set(sites), now)
        mine = after[after["site_code"].isin(sites)]
        # Delete and insert rather than replace: the site views stay, and so do other sites' rows.
        for site in sites:
            conn.execute(sa.text(f"delete from {TABLE} where site_code = :s"), {"s": site})
        insert_rows(conn, TABLE, mine.to_dict("records"), SIGNAL_TRIAGE.columns)
        insert_rows(conn, "meta.signal_triage_history", events, HISTORY_COLUMNS)
    return len(events)


def accepted_benefits(wh: Warehouse) -> dict[str, list[Benefit]]:
    return accepted(read(wh))


def with_accepted(sites: list[SiteConfig], extra: dict[str, list[Benefit]]) -> list[SiteConfig]:
    """Sites whose registers include their accepted signals; an entry the YAML register already
    has under the same id wins (the trust has adopted it, with its valuation and target)."""
    out = []
    for s in sites:
        have = {b.id for b in s.benefit_list}
        add = [b for b in extra.get(s.ods_code, []) if b.id not in have]
        out.append(s.model_copy(update={"benefits": [*s.benefit_list, *add]}) if add else s)
    return out


def record_decision(wh: Warehouse, signal: str, state: str, note: str, by: str, reason: str | None = None) -> dict:
    """Record a decision on one signal; returns the row as decided. TriageError when it cannot be."""
    if not wh.table_exists("measures", "signal_triage_all"):
        raise TriageError(f"no signal {signal!r}: no signals recorded yet (`benefits run` scans for them)")
    cols = [c for c in SIGNAL_TRIAGE.columns if c != "signal_id"]
    with wh.begin() as conn:
        if not wh.is_duckdb:
            conn.execute(sa.text(f"lock table {TABLE} in share row exclusive mode"))
        rows = _select(conn)
        hit = rows[rows["signal_id"] == signal]
        if hit.empty:
            raise TriageError(f"no signal {signal!r}: `benefits signals list` shows the ids")
        row, event = decide(hit.iloc[0].to_dict(), state, note, by, utc_now(), reason)
        conn.execute(
            sa.text(f"update {TABLE} set {', '.join(f'{ident(c)} = :{c}' for c in cols)} where signal_id = :signal_id"),
            {c: db_value(row.get(c)) for c in SIGNAL_TRIAGE.columns},
        )
        insert_rows(conn, "meta.signal_triage_history", [event], HISTORY_COLUMNS)
    return row


def history(wh: Warehouse, signal: str) -> pd.DataFrame:
    return wh.query(
        f"select {', '.join(HISTORY_COLUMNS)} from meta.signal_triage_history where signal_id = :s order by event_at, event",
        {"s": signal},
    )
