"""Ingest one source of one site: extract, harmonise, validate, load. No Prefect here.

Every outcome is recorded in meta.load_batch, including failures, so "what happened to last
night's extract from RF4's ePMA" has an answer in SQL. Errors name the site, source and file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from connectors.base import Connector, ConnectorError, ExtractContext, TransientError
from connectors.registry import get_connector
from connectors.state import read_state
from dataset_contracts.contracts import Contract, get_contract
from expectations.docs import save_validation
from expectations.rules import Rule, build_rules
from expectations.runner import GXValidator, RuleResult, hold_reasons
from pipeline.config.sites import SiteConfig, Source
from dataset_contracts.conform import Harmonised, harmonise
from pipeline.ingest.config_hash import changed_parts, config_hash, loaded_config, loaded_months
from pipeline.ingest.landing import create_keys_table, create_landing, drop_landing, keys_table, landing_table
from pipeline.ingest.load import BatchRecord, commit_batch, record_empty_extract, record_failed_extract
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


@dataclass
class SourceJob:
    """What one source's ingest is given: where it records, what it reads, how it validates."""

    wh: Warehouse
    site: SiteConfig
    source: Source
    settings: Settings
    validator: GXValidator
    as_of: dt.datetime | None = None
    flow_run_id: str | None = None
    period: tuple[dt.date, dt.date] | None = None  # backfill these months

    @property
    def label(self) -> str:
        return f"{self.site.ods_code}/{self.source.name}"

    @property
    def mappings(self) -> dict:
        return self.site.mapping(self.source.dataset)

    @property
    def work_dir(self) -> Path:
        return self.settings.landing_dir / self.site.ods_code / self.source.name


@dataclass
class SourceBatch:
    """One source's batch as it passes from step to step, and the outcome it builds up."""

    job: SourceJob
    contract: Contract
    rec: BatchRecord
    outcome: SourceOutcome
    t0: float
    connector: Connector | None = None
    harmonised: Harmonised | None = None
    parquet: Path | None = None

    def done(self) -> SourceOutcome:
        self.outcome.seconds = time.perf_counter() - self.t0
        return self.outcome


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
    batch = begin(SourceJob(wh, site, source, settings, validator, as_of, flow_run_id, period))
    if not extract(batch):
        return batch.outcome  # up to date, or the extract failed (recorded)
    batch.outcome.timings["extract"] = time.perf_counter() - batch.t0
    empty = report_extract(batch)
    if batch.rec.rows_in == 0 and empty:
        return record_empty(batch, empty)
    # A loaded batch keeps the names of its empty files as its reason (a hold replaces it).
    batch.rec.reason = "; ".join(empty)[:4000] or None
    rules = batch_rules(batch)
    try:
        results = validate(batch, rules)
        load(batch, rules, results)
    finally:
        drop_landing(wh, batch.rec.batch_id)
    keep_results(batch, results)
    return finish(batch)


def begin(job: SourceJob) -> SourceBatch:
    site, source = job.site, job.source
    rec = BatchRecord(
        batch_id="",
        site_code=site.ods_code,
        dataset=source.dataset,
        source_name=source.name,
        connector=source.connector,
        extracted_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        flow_run_id=job.flow_run_id,
    )
    outcome = SourceOutcome(site.ods_code, source.name, source.dataset, "failed")
    return SourceBatch(job, get_contract(source.dataset), rec, outcome, time.perf_counter())


def extract(batch: SourceBatch) -> bool:
    """Run the connector and harmonise its rows into the batch's typed Parquet file.

    False when there is nothing to validate: the source is up to date, or the extract failed
    (recorded in meta.load_batch)."""
    job, rec = batch.job, batch.rec
    ctx = ExtractContext(
        site_code=job.site.ods_code,
        dataset=job.source.dataset,
        source_name=job.source.name,
        state=read_state(job.wh, job.site.ods_code, job.source.name),
        base_dir=job.site.path.parent if job.site.path else None,
        work_dir=job.work_dir / "tmp",
        period=job.period,
    )
    con = processing_engine(job.settings)
    try:
        batch.connector = connector = get_connector(job.source.connector)(job.source.options, ctx)
        rec.config_hash = config_hash(connector, job.mappings)
        ctx.reprocess, batch.outcome.note = config_change(job.wh, job.site, job.source, connector, rec.config_hash, job.period)
        rel = connector.relation(con)
        note_config_change(batch, rel is not None and ctx.reprocess)
        if rel is None:
            batch.outcome.status = "up_to_date"
            return False
        rec.checksum = connector.checksum
        rec.batch_id = batch_id_for(job.site.ods_code, job.source.name, connector.checksum, rec.config_hash)
        batch.parquet = job.work_dir / f"{rec.batch_id}.parquet"
        batch.harmonised = harmonise(
            con,
            rel,
            batch.contract,
            site_code=job.site.ods_code,
            mappings=job.mappings,
            file_columns=connector.file_columns,
            out_path=batch.parquet,
            formats=connector.config.formats,
            malformed=connector.malformed_lines,
        )
    except (ConnectorError, duckdb.Error, OSError, UnicodeError, ValueError) as exc:
        record_extract_failure(batch, exc)
        return False
    finally:
        con.close()
        if batch.connector is not None:
            batch.connector.close()  # connectors (issue #3): remove the extract's spooled/transcoded scratch files
        batch.outcome.seconds = time.perf_counter() - batch.t0
    batch.rec.rows_in, batch.rec.months = batch.harmonised.rows, batch.harmonised.months
    return True


def note_config_change(batch: SourceBatch, reprocessing: bool) -> None:
    outcome = batch.outcome
    if reprocessing:
        n = len(batch.connector.sources)
        outcome.note = f"{outcome.note}; reprocessing {n} file{'s' if n != 1 else ''}"
    if outcome.note:
        log.info("%s", outcome.note)


def record_extract_failure(batch: SourceBatch, exc: BaseException) -> None:
    job, rec, connector = batch.job, batch.rec, batch.connector
    if isinstance(exc, duckdb.Error) and connector is not None:
        exc = connector.diagnose(exc) or exc
    transient = isinstance(exc, TransientError)
    names = getattr(connector, "_read_as", {}) if connector else {}
    rec.batch_id = rec.batch_id or batch_id_for(
        job.site.ods_code, job.source.name, (connector.checksum if connector else "") + "|failed", rec.config_hash
    )
    # Bad data is held for a person to look at; an unreachable source just failed this time.
    rec.status = "failed" if transient else "held"
    rec.reason = describe_error(exc, job.label, {k: v.name for k, v in names.items()})
    log.error("%s: extract failed: %s", job.label, rec.reason)
    record_failed_extract(job.wh, rec)
    batch.outcome.status, batch.outcome.reason, batch.outcome.batch_id = rec.status, rec.reason, rec.batch_id


def report_extract(batch: SourceBatch) -> list[str]:
    """Log the empty files and malformed lines of the extract; returns the empty files' warnings."""
    label = batch.job.label
    empty = [f"{name}: the file is empty; nothing to load from it" for name in batch.connector.empty_files]
    for warning in empty:
        log.warning("%s: %s", label, warning)
    for line in batch.harmonised.malformed:
        log.warning("%s: malformed %s (quarantined)", label, line.where)
    return empty


def record_empty(batch: SourceBatch, empty: list[str]) -> SourceOutcome:
    """Nothing but empty files: a clear 0-row outcome, and the files are remembered so the next
    run does not warn again; an empty extract is not a broken one."""
    rec = batch.rec
    rec.status, rec.reason = "loaded", "; ".join(empty)[:4000]
    record_empty_extract(batch.job.wh, rec, batch.connector.new_state)
    batch.parquet.unlink(missing_ok=True)
    batch.outcome.status, batch.outcome.reason, batch.outcome.batch_id = rec.status, rec.reason, rec.batch_id
    return batch.done()


def batch_rules(batch: SourceBatch) -> list[Rule]:
    job = batch.job
    return build_rules(
        batch.contract,
        mappings=job.mappings,
        as_of=job.as_of,
        hold_percent=job.site.quality.hold_above_percent,
        site_code=job.site.ods_code,
        keys_table=keys_table(batch.rec.batch_id),
    )


def validate(batch: SourceBatch, rules: list[Rule]) -> list[RuleResult]:
    """Land the batch where SQL can see it and run its Great Expectations suite; a failing
    suite or fatal schema drift holds the batch."""
    rec, t1 = batch.rec, time.perf_counter()
    job = batch.job
    create_landing(job.wh, rec.batch_id, batch.parquet, batch.contract)
    t_keys = time.perf_counter()
    with contextlib.closing(processing_engine(job.settings)) as con:
        create_keys_table(job.wh, rec.batch_id, batch.parquet, batch.contract, rules, con)
    batch.outcome.timings["repeated_keys"] = time.perf_counter() - t_keys  # part of validate
    table = landing_table(rec.batch_id)
    results = batch.job.validator.validate("landing", table.split(".")[1], rules, rec.rows_in)
    holds = [d.message for d in batch.harmonised.held_by_drift] + hold_reasons(results, batch.harmonised.malformed)
    if holds:
        rec.status, rec.reason = "held", "; ".join(holds)[:4000]
    batch.outcome.timings["validate"] = time.perf_counter() - t1
    return results


def drift_results(batch: SourceBatch) -> list[dict]:
    """Schema drift as rows of meta.dq_result, beside the suite's results."""
    return [
        {
            "expectation": d.rule if not d.file else f"{d.rule}@{d.file}",
            "expectation_type": "schema_drift",
            "category": "conformance",
            "severity": d.severity,
            "observed_value": d.message,
            "element_count": batch.rec.rows_in,
            "unexpected_count": None,
            "unexpected_percent": None,
            "threshold_percent": None,
            "passed": False,
        }
        for d in batch.harmonised.drift
    ]


def load(batch: SourceBatch, rules: list[Rule], results: list[RuleResult]) -> None:
    """Staging, quarantine, lineage, GX results and state in one transaction (pipeline/ingest/load.py)."""
    t2, connector = time.perf_counter(), batch.connector
    commit_batch(
        batch.job.wh,
        batch.rec,
        contract=batch.contract,
        table=landing_table(batch.rec.batch_id),
        rules=rules,
        results=results,
        extra_dq=drift_results(batch),
        files=connector.sources,
        state=connector.new_state,
        mode=connector.load_mode,
    )
    batch.outcome.timings["load"] = time.perf_counter() - t2


def keep_results(batch: SourceBatch, results: list[RuleResult]) -> None:
    """Keep the GX result for Data Docs and the Parquet of a held batch; log what went wrong."""
    job, rec = batch.job, batch.rec
    # Data Docs (issue #4): keep this batch's GX result; the ingest task renders it.
    save_validation(
        job.settings,
        results,
        batch_id=rec.batch_id,
        site_code=job.site.ods_code,
        source_name=job.source.name,
        dataset=job.source.dataset,
    )
    if rec.status == "loaded":
        batch.parquet.unlink(missing_ok=True)
    for d in batch.harmonised.drift:
        log.warning("%s: schema drift: %s", job.label, d.message)
    if rec.status == "held":
        log.error("%s: batch %s held: %s", job.label, rec.batch_id, rec.reason)


def finish(batch: SourceBatch) -> SourceOutcome:
    rec, outcome = batch.rec, batch.outcome
    outcome.status = rec.status
    outcome.rows_in, outcome.rows_loaded, outcome.rows_quarantined = rec.rows_in, rec.rows_loaded, rec.rows_quarantined
    outcome.reason, outcome.batch_id = rec.reason, rec.batch_id
    return batch.done()
