"""Backfill: re-extract and reload one site's months, then rebuild marts and benefits.

Each source re-reads the period's data (the files connector takes every file whose reporting
month falls in the period, whatever the watermark says) and its load replaces exactly those
months for that site and source. So a backfill is idempotent: running it once or five times,
or over a period that was loaded normally, leaves the same rows, measures and benefits. Only
the lineage differs: rows reloaded carry the backfill's batch id, and meta.load_batch records
the backfill batch (superseding the months of the batch it replaced).

A backfill holds the same per-source lock as a scheduled load, so it never interleaves with
the nightly run of the same source.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from pipeline.config.sites import SiteConfig
from pipeline.ingest.source import SourceOutcome, ingest_source
from pipeline.warehouse.locks import load_lock, schema_lock, staging_snapshot_lock
from pipeline.config.settings import Settings

log = logging.getLogger(__name__)


class BackfillError(ValueError):
    """A backfill request that cannot be carried out; the message says which argument."""


def parse_month(value: str, what: str) -> dt.date:
    try:
        year, month = value.strip().split("-")
        return dt.date(int(year), int(month), 1)
    except (ValueError, AttributeError):
        raise BackfillError(f"{what}: expected a month as YYYY-MM, got {value!r}") from None


def month_range(first: str, last: str) -> tuple[dt.date, dt.date]:
    start, end = parse_month(first, "--from"), parse_month(last, "--to")
    if end < start:
        raise BackfillError(f"--to {end:%Y-%m} is before --from {start:%Y-%m}")
    return start, end


@dataclass
class BackfillResult:
    site_code: str
    period: tuple[dt.date, dt.date]
    outcomes: list[SourceOutcome] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    benefits: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and not self.problems


def backfill(
    settings: Settings,
    site: SiteConfig,
    all_sites: list[SiteConfig],
    period: tuple[dt.date, dt.date],
    *,
    sources: list[str] | None = None,
    rebuild: bool = True,
    on_outcome=None,
) -> BackfillResult:
    """Reload `period` (first and last month, inclusive) for the site's enabled sources (or the
    named ones), then rebuild marts and realise benefits unless `rebuild` is False."""
    from pipeline.runtime import prepare_warehouse, validator, warehouse

    chosen = _chosen_sources(site, sources)
    wh = warehouse(settings)
    with schema_lock(wh):
        prepare_warehouse(wh, all_sites)
    result = BackfillResult(site.ods_code, period)
    for source in chosen:
        log.info("%s/%s: backfilling %s to %s", site.ods_code, source.name, f"{period[0]:%Y-%m}", f"{period[1]:%Y-%m}")
        with load_lock(wh, site.ods_code, source.name):
            outcome = ingest_source(wh, site, source, settings=settings, validator=validator(wh), period=period)
        if outcome.status == "up_to_date":
            # Nothing in the period: for a backfill that is worth saying plainly.
            outcome.reason = outcome.reason or f"no data for {period[0]:%Y-%m} to {period[1]:%Y-%m}"
        result.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    if rebuild:
        _rebuild(wh, settings, all_sites, result)
    return result


def _chosen_sources(site: SiteConfig, sources: list[str] | None) -> list:
    """The site's enabled sources, or the named ones; a name the site does not have is an error."""
    chosen = [s for s in site.sources if s.enabled and (not sources or s.name in sources)]
    unknown = set(sources or []) - {s.name for s in site.sources}
    if unknown:
        raise BackfillError(
            f"--source: {site.ods_code} has no source {', '.join(sorted(unknown))}; "
            f"it has {', '.join(s.name for s in site.sources)}"
        )
    if not chosen:
        raise BackfillError(f"{site.ods_code}: no enabled source to backfill")
    return chosen


def _rebuild(wh, settings: Settings, all_sites: list[SiteConfig], result: BackfillResult) -> None:
    """Marts and benefits rebuilt over every site, into `result`."""
    from pipeline.marts.build import build_marts
    from pipeline.marts.realise import realise

    with staging_snapshot_lock(wh):
        result.models = build_marts(wh, all_sites, suppression_threshold=settings.suppression_threshold)
    realised = realise(wh, all_sites)
    result.benefits, result.problems = realised.benefits, list(realised.problems)
