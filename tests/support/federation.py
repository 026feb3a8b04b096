"""A trust's own warehouse after a real (small) run, without Prefect: what a federated site submits from.

    built = site_warehouse(tmp_path, ["RF4"])   # simulate, ingest, build marts, realise benefits
    built.wh, built.url, built.sites, built.sites_dir, built.home

Several codes give one warehouse holding several trusts (central mode); call it once per code for
one warehouse per trust (federated mode). Test volumes (tests.support.demo.TEST_SCALE): seconds.

    own = split_warehouse(central, tmp_path / "RF4", "RF4")   # one trust's rows of a central warehouse

gives a trust's own warehouse without simulating and ingesting it again: its loaded rows copied
from the central one (ingest is per site, so they are the rows its own run loads), its marts built
and benefits realised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.config.settings import Settings
from pipeline.config.sites import SiteConfig
from pipeline.ingest.source import ingest_source
from pipeline.marts.build import build_marts
from pipeline.marts.realise import realise
from pipeline.runtime import get_sites, prepare_warehouse, validator
from pipeline.simulator import SimulationSpec, simulate_site
from pipeline.warehouse.core import Warehouse
from tests.support import demo
from tests.support.warehouse import clone_loaded_data

AS_OF = dt.datetime(2026, 1, 1)
THRESHOLD = 7
# A change at RF4 no benefit is registered for, large enough for the unplanned-change scan to find
# at test scale: pass as `extra_effects` so that a package has signals to carry.
UNPLANNED_EFFECTS = {"RF4": [{"measure": "delayed_critical_doses_rate", "go_live": "2018-01", "rate_ratio": 0.4}]}


@dataclass
class SiteWarehouse:
    wh: Warehouse
    url: str
    sites: list[SiteConfig]
    sites_dir: Path
    home: Path
    settings: Settings

    def site(self, code: str) -> SiteConfig:
        return next(s for s in self.sites if s.ods_code == code)


def site_warehouse(root: Path, codes: list[str], url: str | None = None, scale_factor: float = 1.0,
                   extra_effects: dict[str, list[dict]] | None = None) -> SiteWarehouse:  # fmt: skip
    """Simulate `codes` at test scale (times `scale_factor`) under `root`, ingest them into one
    warehouse (DuckDB under `root/home` unless `url`), build the marts and realise the benefits.
    `extra_effects`: per site, simulated effects no benefit is registered for (unplanned changes)."""
    configs = demo.bundled_configs()
    for code in codes:
        sim = configs[code]["simulation"]
        scale = demo.TEST_SCALE[sim.get("trust_type", "acute")] * scale_factor
        effects = [*sim.get("effects", []), *(extra_effects or {}).get(code, [])]
        simulate_site(SimulationSpec(**{**sim, "scale": scale, "effects": effects}), root / "simulated" / code)

    def ingest(wh: Warehouse, sites: list[SiteConfig], settings: Settings) -> None:
        for site in sites:
            for source in site.sources:
                outcome = ingest_source(wh, site, source, settings=settings, validator=validator(wh), as_of=AS_OF)
                assert outcome.status == "loaded", (site.ods_code, source.name, outcome.reason)

    return _built(root, root / "simulated", codes, url, ingest)


def split_warehouse(central: SiteWarehouse, root: Path, code: str) -> SiteWarehouse:
    """A DuckDB warehouse under `root/home` with `code`'s loaded rows of the (DuckDB) `central`
    warehouse, its marts built and its benefits realised, as `site_warehouse(root, [code])` gives."""
    return _built(root, central.sites_dir.parent / "simulated", [code], None,
                  lambda wh, _sites, _settings: clone_loaded_data(central.wh, wh, only=[code]))


def _built(root: Path, simulated: Path, codes: list[str], url: str | None,
           load: Callable[[Warehouse, list[SiteConfig], Settings], None]) -> SiteWarehouse:  # fmt: skip
    """The sites' configs and a prepared warehouse under `root`, filled by `load`, marts built and
    benefits realised."""
    sites_dir = demo.write_sites(root / "sites", simulated, only=codes)
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    url = url or f"duckdb:///{home / 'benefits.duckdb'}"
    settings = Settings(home=home, warehouse_url=url, suppression_threshold=THRESHOLD)
    wh = Warehouse(url)
    sites = get_sites(sites_dir)
    prepare_warehouse(wh, sites)
    load(wh, sites, settings)
    build_marts(wh, sites, suppression_threshold=THRESHOLD)
    realise(wh, sites)
    return SiteWarehouse(wh, url, sites, sites_dir, home, settings)
