"""Ingest one source of one site: extract, harmonise, validate, load. No Prefect here.

Every outcome is recorded in meta.load_batch, including failures, so "what happened to last
night's extract from RF4's ePMA" has an answer in SQL. Errors name the site, source and file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
from dataclasses import dataclass, field

import duckdb

from connectors.base import ConnectorError, ExtractContext, TransientError
from connectors.registry import get_connector
from connectors.state import read_state
from dataset_contracts.contracts import get_contract
from expectations.docs import save_validation
from expectations.rules import build_rules
from expectations.runner import GXValidator, hold_reasons
from pipeline.config.sites import SiteConfig, Source
from dataset_contracts.conform import harmonise
from pipeline.ingest.config_hash import changed_parts, config_hash, loaded_config, loaded_months
from pipeline.ingest.load import (
    BatchRecord,
    commit_batch,
    create_landing,
    drop_landing,
    landing_table,
    record_empty_extract,
    record_failed_extract,
)
from pipeline.config.settings import Settings
from pipeline.warehouse.core import Warehouse

log = logging.getLogger(__name__)


@dataclass
class SourceOutcome:
    site_code: str
    source_name: str
    dataset: str
    status: str  # loaded | held | up_to_date | failed
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    batch_id: str | None = None
    # something the user must know although nothing failed (a config change and what became of it)
    note: str | None = None
    seconds: float = 0.0
    # seconds per stage: extract (connector + harmonise to Parquet), validate (landing + GX), load
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in ("loaded", "up_to_date")


def processing_engine(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The in-process DuckDB every batch passes through (bounded memory, spills to disk)."""
    tmp = settings.home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        config={"memory_limit": settings.duckdb_memory, "temp_directory": str(tmp), "preserve_insertion_order": True}
    )


_CSV_LINE = re.compile(r"CSV Error on Line:\s*(\d+)", re.I)


def describe_error(exc: BaseException, source: str, file_names: dict[str, str] | None = None) -> str:
    """A one-paragraph reason a site developer can act on, naming the source and file."""
    text = str(exc).strip()
    file_names = file_names or {}
    file = None
    for path, name in file_names.items():
        if path in text or name in text:
            file = name
            text = text.replace(path, name)
    first = text.splitlines()[0] if text else type(exc).__name__
    m = _CSV_LINE.search(text)
    detail = []
    if m:
        detail.append(f"line {m.group(1)}")
    for key in ("Expected Number of Columns", "Found", "Invalid unicode", "Original Line"):
        for line in text.splitlines():
            if line.strip().startswith(key) and key != "Original Line":
                detail.append(line.strip())
    where = f"{file}: " if file else ""
    extra = f" ({'; '.join(dict.fromkeys(detail))})" if detail else ""
    return f"{source}: {where}{first}{extra}"[:1500]


def batch_id_for(site: str, source: str, checksum: str, config: str | None = None) -> str:
    """The same extract loaded under the same configuration always gets the same id (a rerun
    after a crash rewrites the same rows); under another configuration it is another batch, so
    lineage keeps the batch its rows replaced."""
    key = f"{site}|{source}|{checksum}" + (f"|{config}" if config else "")
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def config_change(
    wh: Warehouse, site: SiteConfig, source: Source, connector, current: str, period
) -> tuple[bool, str | None]:
    """(reprocess what was loaded before, a note for the run's output) when the configuration
    that shapes this source's rows is not the one its latest load recorded (issue 15 #3)."""
    if period is not None:
        return False, None  # a backfill reloads its months under the current configuration anyway
    loaded, previous = loaded_config(wh, site.ods_code, source.name)
    if not loaded or previous == current:
        return False, None
    label = f"{site.ods_code}/{source.name}"
    if previous is None:
        # Loaded before batches recorded their configuration: it may have changed since, and
        # only a reprocess can tell. Watermark sources cannot, and say nothing.
        if connector.reprocesses:
            return True, f"config not recorded for the rows of source {label} loaded so far"
        return False, None
    what = ", ".join(changed_parts(previous, current)) or "configuration"
    if connector.reprocesses:
        return True, f"config changed: {what} of source {label}"
    if not connector.incremental:
        return False, f"config changed: {what} of source {label}; applied by this full extract"
    months = loaded_months(wh, site.ods_code, source.name)
    span = f"--from {months[0]} --to {months[1]}" if months else "--from YYYY-MM --to YYYY-MM"
    return False, (
        f"config changed: {what} of source {label}; it applies to new rows only (the source is "
        f"incremental). To apply it to rows loaded before, run: benefits backfill --site {site.ods_code} "
        f"--source {source.name} {span}"
    )


def ingest_source(
    wh: Warehouse,
    site: SiteConfig,
    source: Source,
    *,
    settings: Settings,
    validator: GXValidator,
    as_of: dt.datetime | None = None,
    flow_run_id: str | None = None,
    period: tuple[dt.date, dt.date] | None = None,
) -> SourceOutcome:
    """Extract, harmonise, validate and load one source; `period` backfills those months."""
    t0 = time.perf_counter()
    contract = get_contract(source.dataset)
    label = f"{site.ods_code}/{source.name}"
    outcome = SourceOutcome(site.ods_code, source.name, source.dataset, "failed")
    work = settings.landing_dir / site.ods_code / source.name
    ctx = ExtractContext(
        site_code=site.ods_code,
        dataset=source.dataset,
        source_name=source.name,
        state=read_state(wh, site.ods_code, source.name),
        base_dir=site.path.parent if site.path else None,
        work_dir=work / "tmp",
        period=period,
    )
    rec = BatchRecord(
        batch_id="",
        site_code=site.ods_code,
        dataset=source.dataset,
        source_name=source.name,
        connector=source.connector,
        extracted_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        flow_run_id=flow_run_id,
    )
    con = processing_engine(settings)
    connector = None
    try:
        connector = get_connector(source.connector)(source.options, ctx)
        rec.config_hash = config_hash(connector, site.mapping(source.dataset))
        ctx.reprocess, outcome.note = config_change(wh, site, source, connector, rec.config_hash, period)
        rel = connector.relation(con)
        if ctx.reprocess and rel is not None:
            n = len(connector.sources)
            outcome.note = f"{outcome.note}; reprocessing {n} file{'s' if n != 1 else ''}"
        if outcome.note:
            log.info("%s", outcome.note)
        if rel is None:
            outcome.status = "up_to_date"
            return outcome
        rec.checksum = connector.checksum
        rec.batch_id = batch_id_for(site.ods_code, source.name, connector.checksum, rec.config_hash)
        parquet = work / f"{rec.batch_id}.parquet"
        harmonised = harmonise(
            con,
            rel,
            contract,
            site_code=site.ods_code,
            mappings=site.mapping(source.dataset),
            file_columns=connector.file_columns,
            out_path=parquet,
            formats=connector.config.formats,
            malformed=connector.malformed_lines,
        )
    except (ConnectorError, duckdb.Error, OSError, UnicodeError, ValueError) as exc:
        if isinstance(exc, duckdb.Error) and connector is not None:
            exc = connector.diagnose(exc) or exc
        transient = isinstance(exc, TransientError)
        names = getattr(connector, "_read_as", {}) if connector else {}
        rec.batch_id = rec.batch_id or batch_id_for(
            site.ods_code, source.name, (connector.checksum if connector else "") + "|failed", rec.config_hash
        )
        # Bad data is held for a person to look at; an unreachable source just failed this time.
        rec.status = "failed" if transient else "held"
        rec.reason = describe_error(exc, label, {k: v.name for k, v in names.items()})
        log.error("%s: extract failed: %s", label, rec.reason)
        record_failed_extract(wh, rec)
        outcome.status, outcome.reason, outcome.batch_id = rec.status, rec.reason, rec.batch_id
        return outcome
    finally:
        con.close()
        if connector is not None:
            connector.close()  # connectors (issue #3): remove the extract's spooled/transcoded scratch files
        outcome.seconds = time.perf_counter() - t0

    outcome.timings["extract"] = time.perf_counter() - t0
    rec.rows_in, rec.months = harmonised.rows, harmonised.months
    empty = [f"{name}: the file is empty; nothing to load from it" for name in connector.empty_files]
    for warning in empty:
        log.warning("%s: %s", label, warning)
    for line in harmonised.malformed:
        log.warning("%s: malformed %s (quarantined)", label, line.where)
    if rec.rows_in == 0 and empty:
        # Nothing but empty files: a clear 0-row outcome, and the files are remembered so the
        # next run does not warn again; an empty extract is not a broken one.
        rec.status, rec.reason = "loaded", "; ".join(empty)[:4000]
        record_empty_extract(wh, rec, connector.new_state)
        parquet.unlink(missing_ok=True)
        outcome.status, outcome.reason, outcome.batch_id = rec.status, rec.reason, rec.batch_id
        outcome.seconds = time.perf_counter() - t0
        return outcome
    # A loaded batch keeps the names of its empty files as its reason (a hold replaces it).
    rec.reason = "; ".join(empty)[:4000] or None
    table = landing_table(rec.batch_id)
    rules = build_rules(
        contract,
        mappings=site.mapping(source.dataset),
        as_of=as_of,
        hold_percent=site.quality.hold_above_percent,
        site_code=site.ods_code,
    )
    drift_rows = [
        {
            "expectation": d.rule if not d.file else f"{d.rule}@{d.file}",
            "expectation_type": "schema_drift",
            "category": "conformance",
            "severity": d.severity,
            "observed_value": d.message,
            "element_count": rec.rows_in,
            "unexpected_count": None,
            "unexpected_percent": None,
            "threshold_percent": None,
            "passed": False,
        }
        for d in harmonised.drift
    ]
    try:
        t1 = time.perf_counter()
        create_landing(wh, rec.batch_id, parquet, contract)
        results = validator.validate("landing", table.split(".")[1], rules, rec.rows_in)
        holds = [d.message for d in harmonised.held_by_drift] + hold_reasons(results, harmonised.malformed)
        if holds:
            rec.status, rec.reason = "held", "; ".join(holds)[:4000]
        t2 = time.perf_counter()
        outcome.timings["validate"] = t2 - t1
        commit_batch(
            wh,
            rec,
            contract=contract,
            table=table,
            rules=rules,
            results=results,
            extra_dq=drift_rows,
            files=connector.sources,
            state=connector.new_state,
            mode=connector.load_mode,
        )
        outcome.timings["load"] = time.perf_counter() - t2
    finally:
        drop_landing(wh, rec.batch_id)
    # Data Docs (issue #4): keep this batch's GX result; the ingest task renders it.
    save_validation(
        settings, results, batch_id=rec.batch_id, site_code=site.ods_code, source_name=source.name, dataset=source.dataset
    )
    if rec.status == "loaded":
        parquet.unlink(missing_ok=True)
    for d in harmonised.drift:
        log.warning("%s: schema drift: %s", label, d.message)
    if rec.status == "held":
        log.error("%s: batch %s held: %s", label, rec.batch_id, rec.reason)
    outcome.status = rec.status
    outcome.rows_in, outcome.rows_loaded, outcome.rows_quarantined = rec.rows_in, rec.rows_loaded, rec.rows_quarantined
    outcome.reason, outcome.batch_id = rec.reason, rec.batch_id
    outcome.seconds = time.perf_counter() - t0
    return outcome

