"""Quarantined rows: find them, read them with their reasons, and release them after a fix.

Rows that break an error rule sit in `quarantine.<dataset>` with the batch they came in, the
rules they broke (`_failed_rules`) and their original values: an unmapped local code is kept
as the local code, a value that did not parse is described in `_conform_errors`. So once an
engineer has fixed the cause (usually a site mapping), a release re-applies the site's current
mappings to those rows and validates them again with the same suite:

- rows that now pass go to staging; rows that still fail stay in quarantine with their new
  reasons. Both belong to a new *release batch* in meta.load_batch (connector
  `quarantine-release`, `released_from` = the original batch), for which rows in = rows
  loaded + rows quarantined, like any batch.
- a held batch can be released too: its release replaces the months it covers, as loading it
  would have, and advances the source's watermark to where the held batch would have left it
  (when nothing has moved it since). The held batch is then marked `released`.

A release never uses the hold threshold (a person chose to release); fatal rules still stop it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from connectors.state import write_state
from dataset_contracts.contracts import CONTRACTS, Contract, get_contract
from expectations.rules import build_rules
from expectations.runner import GXValidator, ValidationRun
from pipeline.config.sites import SiteConfig
from pipeline.ingest.landing import ROW, drop_landing, landing_table
from pipeline.ingest.load import (
    RELEASE_CONNECTOR,
    BatchRecord,
    count_failing,
    ensure_release_columns,
    insert_batch_record,
    insert_dq_results,
    replace_months,
    split_batch,
)
from pipeline.warehouse.core import Warehouse, ident, sql_literal

log = logging.getLogger(__name__)
HELD_PREFIX = "batch_held"


class QuarantineError(ValueError):
    """A quarantine request that cannot be done; the message says why and what to do."""


def rule_names(failed_rules: str | None) -> list[str]:
    """The rule names in a `_failed_rules` value (a held batch's rows carry one reason)."""
    if not failed_rules:
        return []
    if failed_rules.startswith(HELD_PREFIX):
        return [HELD_PREFIX]
    return [r for r in failed_rules.split(";") if r]


def _batches(wh: Warehouse, batch_ids: list[str]) -> dict[str, dict]:
    if not batch_ids:
        return {}
    ids = ", ".join(sql_literal(b) for b in batch_ids)
    frame = wh.query(
        "select batch_id, site_code, dataset, source_name, connector, status, rows_in, rows_loaded, "
        f"rows_quarantined, loaded_at, reason from meta.load_batch where batch_id in ({ids})"
    )
    return {r["batch_id"]: r for r in frame.to_dict("records")}


def summary(wh: Warehouse, *, site: str | None = None, dataset: str | None = None) -> pd.DataFrame:
    """One row per batch with quarantined rows: where it came from, how many rows, which rules."""
    rows = []
    for name in CONTRACTS if dataset is None else [get_contract(dataset).name]:
        where, params = "", {}
        if site:
            where, params = " where _site = :site", {"site": site.upper()}
        grouped = wh.query(
            f"select _batch_id, _site, _source_name, _failed_rules, count(*) as n, min(_period) as first_month, "
            f"max(_period) as last_month from quarantine.{name}{where} group by 1, 2, 3, 4",
            params,
        )
        per_batch: dict[str, dict] = {}
        for r in grouped.to_dict("records"):
            b = per_batch.setdefault(
                r["_batch_id"],
                {
                    "batch_id": r["_batch_id"],
                    "site_code": r["_site"],
                    "dataset": name,
                    "source_name": r["_source_name"],
                    "rows": 0,
                    "rules": {},
                    "first_month": r["first_month"],
                    "last_month": r["last_month"],
                },
            )
            b["rows"] += int(r["n"])
            for rule in rule_names(r["_failed_rules"]):
                b["rules"][rule] = b["rules"].get(rule, 0) + int(r["n"])
            for key, pick in (("first_month", min), ("last_month", max)):
                vals = [v for v in (b[key], r[key]) if v is not None and not pd.isna(v)]
                b[key] = pick(vals) if vals else None
        rows.extend(per_batch.values())
    info = _batches(wh, [r["batch_id"] for r in rows])
    for r in rows:
        meta = info.get(r["batch_id"], {})
        r["status"] = meta.get("status")
        r["loaded_at"] = meta.get("loaded_at")
        r["connector"] = meta.get("connector")
    columns = ["batch_id", "site_code", "dataset", "source_name", "status", "connector", "rows", "rules",
               "first_month", "last_month", "loaded_at"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["site_code", "dataset", "loaded_at"], na_position="last").reset_index(drop=True)


def find_batch(wh: Warehouse, batch_id: str) -> dict:
    batch = _batches(wh, [batch_id]).get(batch_id)
    if batch is None:
        matches = wh.query("select batch_id from meta.load_batch where batch_id like :p", {"p": f"{batch_id}%"})
        if len(matches) == 1:
            return find_batch(wh, matches["batch_id"][0])
        hint = f" ({len(matches)} batches start with it; give more characters)" if len(matches) > 1 else ""
        raise QuarantineError(f"no batch {batch_id!r} in meta.load_batch{hint}; `benefits quarantine list` shows them")
    return batch


def rows(wh: Warehouse, batch_id: str, *, rule: str | None = None, limit: int = 20) -> pd.DataFrame:
    """A batch's quarantined rows with their original values and reasons (first `limit`)."""
    batch = find_batch(wh, batch_id)
    contract = get_contract(batch["dataset"])
    cols = contract.column_names + ["_source_file", "_period", "_failed_rules", "_conform_errors"]
    where, params = "_batch_id = :b", {"b": batch["batch_id"], "n": int(limit)}
    if rule == HELD_PREFIX:
        where += " and strpos(_failed_rules, :r) = 1"
        params["r"] = HELD_PREFIX + ":"
    elif rule:
        where += " and strpos(';' || _failed_rules || ';', :r) > 0"
        params["r"] = f";{rule};"
    order = ", ".join(c for c in (contract.period_column, contract.key.split(",")[0].strip()))
    return wh.query(
        f"select {', '.join(cols)} from quarantine.{contract.name} where {where} order by {order} limit :n", params
    )


# -- release -----------------------------------------------------------------------------------
@dataclass
class Release:
    batch_id: str  # the release batch
    released_from: str
    site_code: str
    dataset: str
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rules: dict[str, int] = field(default_factory=dict)  # still failing: rule -> rows
    dry_run: bool = False
    watermark_advanced: bool = False
    results: ValidationRun | None = None


def _mapped(col, mappings: dict) -> str:
    """A quarantined value with the site's current mapping applied (national codes pass through)."""
    mapping = mappings.get(col.name)
    if col.type != "varchar" or not isinstance(mapping, dict) or not mapping:
        return col.name
    whens = " ".join(f"when {sql_literal(str(k))} then {sql_literal(str(v))}" for k, v in mapping.items())
    return f"case {col.name} {whens} else {col.name} end"


def _landing_from_quarantine(wh: Warehouse, contract: Contract, mappings: dict, source_batch: str, table: str) -> None:
    cols = ", ".join(f"{_mapped(c, mappings)} as {c.name}" for c in contract.columns)
    with wh.begin() as conn:
        conn.execute(
            sa.text(
                f"create table {ident(table)} as select {cols}, _source_file, _period, _conform_errors, "
                f"row_number() over () as {ROW} "
                f"from quarantine.{contract.name} where _batch_id = {sql_literal(source_batch)}"
            )
        )


def release_id_for(source_batch: str, when: dt.datetime) -> str:
    return hashlib.sha256(f"{source_batch}|release|{when.isoformat()}".encode()).hexdigest()[:20]


def release(
    wh: Warehouse,
    site: SiteConfig,
    batch_id: str,
    *,
    validator: GXValidator,
    as_of: dt.datetime | None = None,
    dry_run: bool = False,
) -> Release:
    """Re-apply `site`'s mappings to a batch's quarantined rows, re-validate, load what passes."""
    source, contract, count = _quarantined_batch(wh, site, batch_id)
    batch_id = source["batch_id"]
    rec = _release_record(source, contract, batch_id, count)
    held = source["status"] == "held"
    table = landing_table(rec.batch_id)
    mappings = site.mapping(contract.name)
    out = Release(rec.batch_id, batch_id, rec.site_code, contract.name, rows_in=rec.rows_in, dry_run=dry_run)
    # A person decided to release: rows are judged one by one, never held by the threshold.
    rules = build_rules(contract, mappings=mappings, as_of=as_of, hold_percent=100.0, site_code=rec.site_code)
    drop_landing(wh, rec.batch_id)
    _landing_from_quarantine(wh, contract, mappings, batch_id, table)
    try:
        results = validator.validate("landing", table.split(".")[1], rules, rec.rows_in, suite_name=contract.name)
        out.results = results
        holds = [r.describe() for r in results if r.holds_batch]
        if holds:
            raise QuarantineError(f"batch {batch_id} cannot be released: " + "; ".join(holds))
        periods = wh.query(f"select distinct _period from {table} where _period is not null")["_period"]
        rec.months = sorted(pd.Timestamp(m).date() if isinstance(m, (dt.datetime, str)) else m for m in periods)
        if dry_run:
            failing = count_failing(wh, table, rules, contract)
            out.rows_loaded, out.rows_quarantined = rec.rows_in - failing, failing
            out.rules = _failing_rules(results)
            return out
        out.watermark_advanced = _load_release(wh, rec, contract, table, rules, results, batch_id, held)
    finally:
        drop_landing(wh, rec.batch_id)
    out.rows_loaded, out.rows_quarantined = rec.rows_loaded, rec.rows_quarantined
    out.rules = _failing_rules(results)
    log.info("%s: released batch %s as %s: %s loaded, %s still quarantined", site.ods_code, batch_id,
             rec.batch_id, rec.rows_loaded, rec.rows_quarantined)  # fmt: skip
    return out


def _quarantined_batch(wh: Warehouse, site: SiteConfig, batch_id: str) -> tuple[dict, Contract, int]:
    """The batch's record, its contract and how many of its rows are in quarantine; it must be the site's and have some."""
    source = find_batch(wh, batch_id)
    batch_id = source["batch_id"]
    if source["site_code"] != site.ods_code:
        raise QuarantineError(f"batch {batch_id} belongs to site {source['site_code']}, not {site.ods_code}")
    contract = get_contract(source["dataset"])
    count = wh.scalar(f"select count(*) from quarantine.{contract.name} where _batch_id = :b", {"b": batch_id})
    if not count:
        raise QuarantineError(f"batch {batch_id} has no rows in quarantine.{contract.name}; nothing to release")
    return source, contract, count


def _release_record(source: dict, contract: Contract, batch_id: str, count) -> BatchRecord:
    """The release's own batch record, named for the batch it releases and the time of release."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rec = BatchRecord(
        batch_id=release_id_for(batch_id, now),
        site_code=source["site_code"],
        dataset=contract.name,
        source_name=source["source_name"],
        connector=RELEASE_CONNECTOR,
        extracted_at=now,
        checksum=None,
        rows_in=int(count),
    )
    held = source["status"] == "held"
    rec.reason = f"release of {int(count):,} quarantined rows of {'held ' if held else ''}batch {batch_id}"
    return rec


def _failing_rules(results) -> dict[str, int]:
    return {r.rule.name: r.unexpected_count for r in results if r.rule.row_level and r.unexpected_count}


def _load_release(wh: Warehouse, rec: BatchRecord, contract: Contract, table: str, rules, results, batch_id: str,
                  held: bool) -> bool:  # fmt: skip
    """In one transaction: the released rows out of quarantine, split again into staging and quarantine,
    recorded as a batch of their own; a held batch's months replaced and its state written. Returns
    whether the watermark moved (a held batch's release only)."""
    files = list(wh.query(f"select distinct _source_file from {table} where _source_file is not null")["_source_file"])
    with wh.begin() as conn:
        ensure_release_columns(conn)
        if held:
            # Loading the held batch would have replaced its months; so does its release.
            replace_months(conn, "staging", rec, files)
            replace_months(conn, "quarantine", rec, files)
        conn.execute(sa.text(f"delete from quarantine.{contract.name} where _batch_id = :b"), {"b": batch_id})
        rec.rows_quarantined = split_batch(conn, rec, contract, table, rules)
        rec.rows_loaded = rec.rows_in - rec.rows_quarantined
        rec.status = "loaded"
        insert_batch_record(conn, rec, supersede=held)
        conn.execute(
            sa.text("update meta.load_batch set released_from = :s where batch_id = :b"),
            {"s": batch_id, "b": rec.batch_id},
        )
        insert_dq_results(conn, rec, results, [])
        if not held:
            return False
        conn.execute(
            sa.text("update meta.load_batch set status = 'released', superseded_by = :r where batch_id = :b"),
            {"r": rec.batch_id, "b": batch_id},
        )
        return _advance_watermark(conn, rec, batch_id)


def _advance_watermark(conn, rec: BatchRecord, held_batch: str) -> bool:
    """Write the state the held batch would have written, unless the watermark moved since."""
    stash = conn.execute(
        sa.text("select prior_state, state from meta.held_batch_state where batch_id = :b"), {"b": held_batch}
    ).fetchone()
    if stash is None:
        return False
    current = conn.execute(
        sa.text("select state from meta.watermark where site_code = :s and source_name = :n"),
        {"s": rec.site_code, "n": rec.source_name},
    ).scalar()
    if (json.loads(current) if current else None) != (json.loads(stash[0]) if stash[0] else None):
        log.warning("%s/%s: watermark moved since batch %s was held; the next run re-extracts its files",
                    rec.site_code, rec.source_name, held_batch)  # fmt: skip
        return False
    write_state(conn, rec.site_code, rec.source_name, json.loads(stash[1]), rec.batch_id)
    conn.execute(sa.text("delete from meta.held_batch_state where batch_id = :b"), {"b": held_batch})
    return True
