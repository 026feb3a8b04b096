"""Load one validated batch: staging rows, quarantined rows, lineage and state in one transaction.

A batch that reloads a site's months replaces what those months held (by `_period`), so
loading the same extract twice, or a corrected one, never duplicates rows. The watermark is
written in the same transaction, so a crash anywhere leaves either the old state with the old
rows or the new state with the new rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connectors.state import write_state
from dataset_contracts.contracts import Contract
from expectations.rules import Rule, key_column
from expectations.runner import RuleResult
from pipeline.ingest import staging_indexes
from pipeline.ingest.landing import ROW, repeated_keys
from pipeline.warehouse.core import Warehouse, sql_literal
from dataset_contracts.lineage import LINEAGE_COLUMNS
from dataset_contracts.malformed import RULE as MALFORMED

LINEAGE_COLS = list(LINEAGE_COLUMNS)


@dataclass
class BatchRecord:
    batch_id: str
    site_code: str
    dataset: str
    source_name: str
    connector: str
    extracted_at: dt.datetime
    checksum: str | None = None
    months: list[dt.date] = field(default_factory=list)
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    status: str = "pending"
    reason: str | None = None
    flow_run_id: str | None = None
    config_hash: str | None = None

    @property
    def period_start(self) -> dt.date | None:
        return min(self.months) if self.months else None

    @property
    def period_end(self) -> dt.date | None:
        """Last day of the last month covered."""
        if not self.months:
            return None
        last = max(self.months)
        nxt = dt.date(last.year + (last.month == 12), last.month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)


def _row_rules(rules: list[Rule]) -> list[Rule]:
    return [r for r in rules if r.row_level]


def _pred(rule: Rule) -> str:
    return f"coalesce(({rule.unexpected}), false)"


def _dup_match(rule: Rule, alias: str, row: str = "b") -> str:
    return " and ".join(f"{row}.{c} = {alias}.{key_column(j)}" for j, c in enumerate(rule.unique_columns))


def create_dup_tables(conn: Connection, table: str, rules: list[Rule]) -> dict[int, str]:
    """Repeated keys of each uniqueness rule, as small tables (one grouping per batch).

    Both the quarantine and the staging insert need them, so the keys are grouped once, not
    once per insert (on 10M rows the grouping is the costliest part of the predicates). A rule
    whose batch landed with a table of repeated keys (`create_keys_table`) uses that; the others
    get a temporary one.
    """
    dups: dict[int, str] = {}
    for i, r in enumerate(_row_rules(rules)):
        if not r.unique_columns:
            continue
        if r.keys_table:
            dups[i] = r.keys_table
            continue
        name = f"_dq_dup_{i}"
        conn.execute(sa.text(f"drop table if exists {name}"))
        conn.execute(sa.text(f"create temporary table {name} as {repeated_keys(r, table)}"))
        dups[i] = name
    return dups


def drop_dup_tables(conn: Connection, dups: dict[int, str]) -> None:
    for name in dups.values():
        if name.startswith("_dq_dup_"):  # a batch's table of repeated keys goes with its landing table
            conn.execute(sa.text(f"drop table if exists {name}"))


def _failure_parts(rules: list[Rule], dups: dict[int, str]) -> tuple[list[str], list[str], list[str]]:
    """(joins, `case` expressions naming each failed rule, conditions any of which fails a row)."""
    joins, cases, conds = [], [], []
    for i, r in enumerate(_row_rules(rules)):
        if r.unique_columns:
            alias = f"d{i}"
            joins.append(f"left join {dups[i]} {alias} on {_dup_match(r, alias)}")
            cond = f"{alias}.{key_column(0)} is not null"
        else:
            cond = _pred(r)
        cases.append(f"case when {cond} then {sql_literal(r.name)} end")
        conds.append(cond)
    return joins, cases, conds


def flagged_select(
    table: str, contract: Contract, rules: list[Rule], dups: dict[int, str], only_failed: bool = False
) -> str:
    """Landing rows with `_failed_rules` (the row-level error rules each breaks; '' for none)."""
    joins, cases, conds = _failure_parts(rules, dups)
    cols = contract.column_names + ["_source_file", "_period", "_conform_errors"]
    failed = f"concat_ws(';', {', '.join(cases)})" if cases else "''"
    malformed = next((r for r in _row_rules(rules) if r.name == MALFORMED), None)
    if malformed is not None:
        # A malformed line has no values, so it also "fails" every rule that wants one; the
        # reason a person needs is that the line could not be read.
        failed = f"case when {_pred(malformed)} then {sql_literal(MALFORMED)} else {failed} end"
    where = f" where {' or '.join(conds)}" if only_failed else ""
    if only_failed and not conds:
        where = " where false"
    select = f"select {', '.join('b.' + c for c in cols)}, b.{ROW}, {failed} as _failed_rules"
    return f"{select} from {table} b {' '.join(joins)}{where}"


def count_failing(wh, table: str, rules: list[Rule], contract: Contract) -> int:
    """Rows of a landing table that the split would quarantine (a dry run of it)."""
    with wh.begin() as conn:
        dups = create_dup_tables(conn, table, rules)
        try:
            failed = flagged_select(table, contract, rules, dups, only_failed=True)
            return int(conn.execute(sa.text(f"select count(*) from ({failed}) f")).scalar())
        finally:
            drop_dup_tables(conn, dups)


def predicate_counts(conn: Connection, table: str, rules: list[Rule]) -> dict[str, int]:
    """Rows each row-level rule picks out, counted with the quarantine's own predicates.

    Every rule with a predicate is counted, whatever its severity, so tests can hold each one
    against Great Expectations' count for the same rule.
    """
    counted = [r for r in rules if r.unexpected is not None or r.unique_columns]
    plain = [r for r in counted if not r.unique_columns]
    out: dict[str, int] = {}
    if plain:
        sums = ", ".join(f"sum(case when {_pred(r)} then 1 else 0 end)" for r in plain)
        row = conn.execute(sa.text(f"select {sums} from {table}")).fetchone()
        out.update({r.name: int(v or 0) for r, v in zip(plain, row)})
    for r in counted:
        if r.unique_columns:
            cols = ", ".join(r.unique_columns)
            present = " and ".join(f"{c} is not null" for c in r.unique_columns)
            out[r.name] = int(
                conn.execute(
                    sa.text(
                        f"select coalesce(sum(n), 0) from (select count(*) as n from {table} where {present} "
                        f"group by {cols} having count(*) > 1) g"
                    )
                ).scalar()
            )
    return out


def split_batch(conn: Connection, rec: BatchRecord, contract: Contract, table: str, rules: list[Rule]) -> int:
    """Failing rows -> quarantine, the rest -> staging, under rec's lineage; returns rows quarantined."""
    base_cols = contract.column_names + ["_source_file", "_period"]
    lineage = f"{sql_literal(rec.batch_id)}, {sql_literal(rec.site_code)}, {sql_literal(rec.source_name)}"
    target_cols = ", ".join(base_cols + ["_batch_id", "_site", "_source_name"])
    sel = ", ".join(base_cols)
    if conn.dialect.name == "postgresql":
        # PostgreSQL multiplies the selectivities of the ~20 rule predicates into an estimate of a
        # handful of rows and then joins the repeated keys by nested loop: hours on 10M rows. A hash
        # join is right at any size; this lasts until the end of the load's transaction.
        conn.execute(sa.text("set local enable_nestloop = off"))
    dups = create_dup_tables(conn, table, rules)
    try:
        # The rules are evaluated once: failing rows (a few) are kept with their row numbers, and
        # staging takes every other row by an anti-join on the number. Re-testing all ~20 rules
        # in the staging insert costs as much again as copying the rows (measured on 8M rows).
        conn.execute(sa.text("drop table if exists _dq_failed"))
        flagged = flagged_select(table, contract, rules, dups, only_failed=True)
        conn.execute(sa.text(f"create temporary table _dq_failed as {flagged}"))
        conn.execute(
            sa.text(
                f"insert into quarantine.{contract.name} ({target_cols}, _conform_errors, _failed_rules) "
                f"select {sel}, {lineage}, _conform_errors, _failed_rules from _dq_failed"
            )
        )
        quarantined = conn.execute(sa.text("select count(*) from _dq_failed")).scalar()
        conn.execute(
            sa.text(
                f"insert into staging.{contract.name} ({target_cols}) "
                f"select {', '.join('b.' + c for c in base_cols)}, {lineage} from {table} b "
                f"where not exists (select 1 from _dq_failed f where f.{ROW} = b.{ROW})"
            )
        )
        conn.execute(sa.text("drop table _dq_failed"))
    finally:
        drop_dup_tables(conn, dups)
    return int(quarantined)


def replace_months(conn: Connection, schema: str, rec: BatchRecord, files: list[str]) -> None:
    table = f"{schema}.{rec.dataset}"
    params = {"site": rec.site_code, "src": rec.source_name, "batch": rec.batch_id}
    if rec.months:
        months = ", ".join(f"date {sql_literal(m.isoformat())}" for m in rec.months)
        conn.execute(
            sa.text(f"delete from {table} where _site = :site and _source_name = :src and _period in ({months})"),
            params,
        )
    conn.execute(sa.text(f"delete from {table} where _batch_id = :batch"), params)
    if schema == "quarantine" and files:
        names = ", ".join(sql_literal(f) for f in files)
        conn.execute(
            sa.text(
                f"delete from {table} where _site = :site and _source_name = :src and _period is null "
                f"and _source_file in ({names})"
            ),
            params,
        )


def replace_keys(conn: Connection, schema: str, rec: BatchRecord, contract: Contract, table: str) -> None:
    """An incremental batch replaces the rows of its own keys and leaves the rest of their months."""
    target = f"{schema}.{rec.dataset}"
    keys = [k.strip() for k in contract.key.split(",")]
    same = " and ".join(f"l.{k} = t.{k}" for k in keys)
    conn.execute(
        sa.text(
            f"delete from {target} t where t._site = :site and t._source_name = :src "
            f"and exists (select 1 from {table} l where {same})"
        ),
        {"site": rec.site_code, "src": rec.source_name},
    )
    conn.execute(sa.text(f"delete from {target} where _batch_id = :b"), {"b": rec.batch_id})


LOAD_MODES = ("replace_months", "merge_by_key")


def insert_batch_record(conn: Connection, rec: BatchRecord, supersede: bool = True) -> None:
    conn.execute(sa.text("delete from meta.load_batch where batch_id = :b"), {"b": rec.batch_id})
    conn.execute(
        sa.text(
            "insert into meta.load_batch (batch_id, site_code, dataset, source_name, connector, period_start, "
            "period_end, months, extracted_at, loaded_at, rows_in, rows_loaded, rows_quarantined, checksum, status, "
            "reason, flow_run_id, config_hash) values (:batch_id, :site_code, :dataset, :source_name, :connector, "
            ":period_start, :period_end, :months, :extracted_at, current_timestamp, :rows_in, :rows_loaded, "
            ":rows_quarantined, :checksum, :status, :reason, :flow_run_id, :config_hash)"
        ),
        {
            "batch_id": rec.batch_id,
            "site_code": rec.site_code,
            "dataset": rec.dataset,
            "source_name": rec.source_name,
            "connector": rec.connector,
            "period_start": rec.period_start,
            "period_end": rec.period_end,
            "months": ",".join(f"{m:%Y-%m}" for m in rec.months) or None,
            "extracted_at": rec.extracted_at,
            "rows_in": rec.rows_in,
            "rows_loaded": rec.rows_loaded,
            "rows_quarantined": rec.rows_quarantined,
            "checksum": rec.checksum,
            "status": rec.status,
            "reason": rec.reason,
            "flow_run_id": rec.flow_run_id,
            "config_hash": rec.config_hash,
        },
    )
    if supersede and rec.status == "loaded" and rec.months:
        # Earlier batches of the same source whose months this one replaced.
        conn.execute(
            sa.text(
                "update meta.load_batch set superseded_by = :b where site_code = :s and source_name = :n "
                "and batch_id <> :b and status = 'loaded' and superseded_by is null "
                "and period_start <= :end and period_end >= :start"
            ),
            {"b": rec.batch_id, "s": rec.site_code, "n": rec.source_name, "start": rec.period_start, "end": rec.period_end},
        )


def insert_dq_results(conn: Connection, rec: BatchRecord, results: list[RuleResult], extra: list[dict]) -> None:
    conn.execute(sa.text("delete from meta.dq_result where batch_id = :b"), {"b": rec.batch_id})
    rows = [
        {
            "batch_id": rec.batch_id,
            "site_code": rec.site_code,
            "dataset": rec.dataset,
            "expectation": r.rule.name,
            "expectation_type": r.rule.gx_type,
            "category": r.rule.category,
            "severity": r.rule.severity,
            "observed_value": (r.exception or r.observed_value or (None if r.unexpected_count is None else str(r.unexpected_count)))[:2000]
            if (r.exception or r.observed_value or r.unexpected_count is not None)
            else None,
            "element_count": r.element_count,
            "unexpected_count": r.unexpected_count,
            "unexpected_percent": r.unexpected_percent,
            "threshold_percent": r.rule.threshold,
            "passed": r.passed,
        }
        for r in results
    ]
    for e in extra:
        rows.append({"batch_id": rec.batch_id, "site_code": rec.site_code, "dataset": rec.dataset, **e})
    if rows:
        conn.execute(
            sa.text(
                "insert into meta.dq_result (batch_id, site_code, dataset, expectation, expectation_type, category, "
                "severity, observed_value, element_count, unexpected_count, unexpected_percent, threshold_percent, "
                "passed, validated_at) values (:batch_id, :site_code, :dataset, :expectation, :expectation_type, "
                ":category, :severity, :observed_value, :element_count, :unexpected_count, :unexpected_percent, "
                ":threshold_percent, :passed, current_timestamp)"
            ),
            rows,
        )


def commit_batch(
    wh: Warehouse,
    rec: BatchRecord,
    *,
    contract: Contract,
    table: str,
    rules: list[Rule],
    results: list[RuleResult],
    extra_dq: list[dict],
    files: list[str],
    state: dict | None,
    mode: str = "replace_months",
) -> BatchRecord:
    """Move a validated landing batch into staging and quarantine, with its lineage, atomically.

    `mode` is the connector's `load_mode`: a whole extract of its months (`replace_months`) or
    only the rows changed since the watermark (`merge_by_key`, which must not wipe the rest of
    those months). A held batch (rec.status == 'held') sends every row to quarantine with the
    reason, loads nothing into staging, and leaves the watermark where it was so the next run
    retries it.
    """
    if mode not in LOAD_MODES:
        raise ValueError(f"unknown load mode {mode!r}; expected one of {', '.join(LOAD_MODES)}")
    base_cols = contract.column_names + ["_source_file", "_period"]
    lineage = f"{sql_literal(rec.batch_id)}, {sql_literal(rec.site_code)}, {sql_literal(rec.source_name)}"
    q_cols = ", ".join(base_cols + ["_batch_id", "_site", "_source_name", "_conform_errors", "_failed_rules"])
    sel = ", ".join(base_cols)
    with wh.begin() as conn:
        if rec.status == "held":
            conn.execute(sa.text(f"delete from quarantine.{contract.name} where _batch_id = :b"), {"b": rec.batch_id})
            reason = sql_literal(f"batch_held: {rec.reason}"[:4000])
            conn.execute(
                sa.text(
                    f"insert into quarantine.{contract.name} ({q_cols}) "
                    f"select {sel}, {lineage}, _conform_errors, {reason} from {table}"
                )
            )
            rec.rows_loaded, rec.rows_quarantined = 0, rec.rows_in
            if state is not None:
                stash_held_state(conn, rec, state)
        else:
            # Decided (and the table locked) before the deletes, which still use the indexes.
            rebuild = staging_indexes.lock_for_rebuild(conn, contract, rec.rows_in)
            for schema in ("quarantine", "staging"):
                if mode == "merge_by_key":
                    replace_keys(conn, schema, rec, contract, table)
                else:
                    replace_months(conn, schema, rec, files)
            if rebuild:
                staging_indexes.drop_indexes(conn, contract)
            rec.rows_quarantined = split_batch(conn, rec, contract, table, rules)
            if rebuild:
                staging_indexes.create_indexes(conn, contract)
            rec.rows_loaded = rec.rows_in - rec.rows_quarantined
            rec.status = "loaded"
            if state is not None:
                write_state(conn, rec.site_code, rec.source_name, state, rec.batch_id)
        insert_batch_record(conn, rec, supersede=mode == "replace_months")
        insert_dq_results(conn, rec, results, extra_dq)
    return rec


# -- what a quarantine release needs (pipeline/ingest/quarantine.py) ---------------------------------
RELEASE_CONNECTOR = "quarantine-release"

_HELD_STATE_DDL = (
    "create table if not exists meta.held_batch_state (batch_id varchar primary key, site_code varchar not null, "
    "source_name varchar not null, prior_state varchar, state varchar not null)"
)


def stash_held_state(conn: Connection, rec: BatchRecord, state: dict) -> None:
    """Remember the watermark a held batch would have written, so releasing it can advance it."""
    from connectors.base import state_json

    conn.execute(sa.text(_HELD_STATE_DDL))
    prior = conn.execute(
        sa.text("select state from meta.watermark where site_code = :s and source_name = :n"),
        {"s": rec.site_code, "n": rec.source_name},
    ).scalar()
    conn.execute(sa.text("delete from meta.held_batch_state where batch_id = :b"), {"b": rec.batch_id})
    conn.execute(
        sa.text(
            "insert into meta.held_batch_state (batch_id, site_code, source_name, prior_state, state) "
            "values (:b, :s, :n, :p, :st)"
        ),
        {"b": rec.batch_id, "s": rec.site_code, "n": rec.source_name, "p": prior, "st": state_json(state)},
    )


def ensure_release_columns(conn: Connection) -> None:
    """meta.load_batch.released_from: the batch a release batch took its rows from (lineage)."""
    conn.execute(sa.text("alter table meta.load_batch add column if not exists released_from varchar"))
    conn.execute(sa.text(_HELD_STATE_DDL))


def record_failed_extract(wh: Warehouse, rec: BatchRecord, extra_dq: list[dict] | None = None) -> BatchRecord:
    """An extract that produced no usable rows (unreadable file, connection error): lineage only."""
    rec.rows_in = rec.rows_loaded = rec.rows_quarantined = 0
    with wh.begin() as conn:
        insert_batch_record(conn, rec)
        insert_dq_results(conn, rec, [], extra_dq or [])
    return rec


def record_empty_extract(wh: Warehouse, rec: BatchRecord, state: dict | None) -> BatchRecord:
    """An extract of empty files: 0 rows loaded, the reason says which files, and the state
    advances past them (nothing in them to retry)."""
    rec.rows_in = rec.rows_loaded = rec.rows_quarantined = 0
    with wh.begin() as conn:
        if state is not None:
            write_state(conn, rec.site_code, rec.source_name, state, rec.batch_id)
        insert_batch_record(conn, rec, supersede=False)
        insert_dq_results(conn, rec, [], [])
    return rec
