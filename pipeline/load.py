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
from expectations.contracts import Contract
from expectations.rules import Rule
from expectations.runner import RuleResult
from pipeline.warehouse.core import Warehouse, ident, sql_literal
from pipeline.warehouse.ddl import LINEAGE

LINEAGE_COLS = [n for n, _ in LINEAGE]


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


def landing_table(batch_id: str) -> str:
    return ident(f"landing.b_{batch_id}")


def create_landing(wh: Warehouse, batch_id: str, parquet_path, contract: Contract) -> str:
    """Put the harmonised batch where GX and the load can query it with SQL."""
    name = landing_table(batch_id)
    drop_landing(wh, batch_id)
    if wh.is_duckdb:
        # A view over the Parquet file: DuckDB scans it in parallel, and nothing is written twice.
        path = sql_literal(str(parquet_path.resolve()))
        wh.execute(f"create view {name} as select * from read_parquet({path})")
        return name
    cols = [f"{c.name} {c.sql_type('postgresql')}" for c in contract.columns]
    cols += ["_source_file text", "_period date", "_conform_errors text"]
    with wh.begin() as conn:
        conn.execute(sa.text(f"create unlogged table {name} ({', '.join(cols)})"))
        wh.copy_parquet_into(conn, name, parquet_path, contract.column_names + ["_source_file", "_period", "_conform_errors"])
    return name


def drop_landing(wh: Warehouse, batch_id: str) -> None:
    name = landing_table(batch_id)
    schema, table = name.split(".")
    with wh.begin() as conn:
        kind = conn.execute(
            sa.text("select table_type from information_schema.tables where table_schema = :s and table_name = :t"),
            {"s": schema, "t": table},
        ).scalar()
        if kind:
            conn.execute(sa.text(f"drop {'view' if kind == 'VIEW' else 'table'} if exists {name}"))


def flagged_select(table: str, contract: Contract, rules: list[Rule]) -> str:
    """Every landing row with `_failed_rules`: the names of the row-level error rules it breaks."""
    row_rules = [r for r in rules if r.row_level]
    preds = [
        f"case when coalesce(({r.unexpected}), false) then {sql_literal(r.name)} end as _r{i}"
        for i, r in enumerate(row_rules)
        if not r.unique_columns
    ]
    ctes, joins, cases = [], [], []
    for i, r in enumerate(row_rules):
        if r.unique_columns:
            cols = ", ".join(r.unique_columns)
            ctes.append(f"dup{i} as (select {cols} from {table} group by {cols} having count(*) > 1)")
            on = " and ".join(f"b.{c} = dup{i}.{c}" for c in r.unique_columns)
            joins.append(f"left join dup{i} on {on}")
            cases.append(f"case when dup{i}.{r.unique_columns[0]} is not null then {sql_literal(r.name)} end")
        else:
            cases.append(f"b._r{i}")
    cols = contract.column_names + ["_source_file", "_period", "_conform_errors"]
    base = f"base as (select {', '.join(cols)}{''.join(', ' + p for p in preds)} from {table})"
    failed = f"concat_ws(';', {', '.join(cases)})" if cases else "''"
    return (
        f"with {', '.join(ctes + [base])} "
        f"select {', '.join('b.' + c for c in cols)}, {failed} as _failed_rules from base b {' '.join(joins)}"
    )


def _replace_months(conn: Connection, schema: str, rec: BatchRecord, files: list[str]) -> None:
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


def _insert_batch_record(conn: Connection, rec: BatchRecord) -> None:
    conn.execute(sa.text("delete from meta.load_batch where batch_id = :b"), {"b": rec.batch_id})
    conn.execute(
        sa.text(
            "insert into meta.load_batch (batch_id, site_code, dataset, source_name, connector, period_start, "
            "period_end, months, extracted_at, loaded_at, rows_in, rows_loaded, rows_quarantined, checksum, status, "
            "reason, flow_run_id) values (:batch_id, :site_code, :dataset, :source_name, :connector, :period_start, "
            ":period_end, :months, :extracted_at, current_timestamp, :rows_in, :rows_loaded, :rows_quarantined, "
            ":checksum, :status, :reason, :flow_run_id)"
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
        },
    )
    if rec.status == "loaded" and rec.months:
        # Earlier batches of the same source whose months this one replaced.
        conn.execute(
            sa.text(
                "update meta.load_batch set superseded_by = :b where site_code = :s and source_name = :n "
                "and batch_id <> :b and status = 'loaded' and superseded_by is null "
                "and period_start <= :end and period_end >= :start"
            ),
            {"b": rec.batch_id, "s": rec.site_code, "n": rec.source_name, "start": rec.period_start, "end": rec.period_end},
        )


def _insert_dq(conn: Connection, rec: BatchRecord, results: list[RuleResult], extra: list[dict]) -> None:
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
) -> BatchRecord:
    """Move a validated landing batch into staging and quarantine, with its lineage, atomically.

    A held batch (rec.status == 'held') sends every row to quarantine with the reason, loads
    nothing into staging, and leaves the watermark where it was so the next run retries it.
    """
    contract_cols = contract.column_names
    base_cols = contract_cols + ["_source_file", "_period"]
    lineage = (
        f"{sql_literal(rec.batch_id)}, {sql_literal(rec.site_code)}, {sql_literal(rec.source_name)}"
    )
    target_cols = ", ".join(contract_cols + ["_source_file", "_period", "_batch_id", "_site", "_source_name"])
    q_cols = target_cols + ", _conform_errors, _failed_rules"
    flagged = flagged_select(table, contract, rules)
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
        else:
            _replace_months(conn, "quarantine", rec, files)
            _replace_months(conn, "staging", rec, files)
            conn.execute(
                sa.text(
                    f"insert into quarantine.{contract.name} ({q_cols}) "
                    f"select {sel}, {lineage}, _conform_errors, _failed_rules from ({flagged}) f where _failed_rules <> ''"
                )
            )
            rec.rows_quarantined = conn.execute(
                sa.text(f"select count(*) from quarantine.{contract.name} where _batch_id = :b"), {"b": rec.batch_id}
            ).scalar()
            conn.execute(
                sa.text(
                    f"insert into staging.{contract.name} ({target_cols}) "
                    f"select {sel}, {lineage} from ({flagged}) f where _failed_rules = ''"
                )
            )
            rec.rows_loaded = rec.rows_in - rec.rows_quarantined
            rec.status = "loaded"
            if state is not None:
                write_state(conn, rec.site_code, rec.source_name, state, rec.batch_id)
        _insert_batch_record(conn, rec)
        _insert_dq(conn, rec, results, extra_dq)
    return rec


def record_failed_extract(wh: Warehouse, rec: BatchRecord, extra_dq: list[dict] | None = None) -> BatchRecord:
    """An extract that produced no usable rows (unreadable file, connection error): lineage only."""
    rec.rows_in = rec.rows_loaded = rec.rows_quarantined = 0
    with wh.begin() as conn:
        _insert_batch_record(conn, rec)
        _insert_dq(conn, rec, [], extra_dq or [])
    return rec
