"""Drive the pipeline's packages directly (no Prefect) for tests that only need the data path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.ingest.source import SourceOutcome, ingest_source
from pipeline.marts.build import build_marts
from pipeline.marts.realise import realise
from pipeline.runtime import get_sites, prepare_warehouse, validator, warehouse
from pipeline.config.settings import load_settings

AS_OF = dt.datetime(2026, 1, 1)


def ingest_all(sites_dir: Path, only: list[str] | None = None) -> list[SourceOutcome]:
    settings = load_settings()
    sites = get_sites(sites_dir)
    wh = warehouse(settings)
    prepare_warehouse(wh, sites)
    outcomes = []
    for site in sites:
        if only and site.ods_code not in only:
            continue
        for source in site.sources:
            outcomes.append(ingest_source(wh, site, source, settings=settings, validator=validator(wh), as_of=AS_OF))
    return outcomes


def build_all(sites_dir: Path) -> None:
    settings = load_settings()
    sites = get_sites(sites_dir)
    wh = warehouse(settings)
    build_marts(wh, sites, suppression_threshold=settings.suppression_threshold)
    realise(wh, sites)
