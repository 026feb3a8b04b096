"""Per-process resources shared by flows and commands: the warehouse, the GX validator, setup steps."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from expectations.runner import GXValidator
from pydantic import ValidationError

from pipeline.config.sites import ConfigError, SiteConfig, format_errors, load_sites
from pipeline.marts.build import write_sites
from pipeline.config.settings import DEFAULT_SITES_DIR, Settings, load_settings
from pipeline.warehouse.core import Warehouse
from pipeline.warehouse.ddl import ensure_schema

log = logging.getLogger(__name__)
_lock = threading.Lock()
_warehouses: dict[str, Warehouse] = {}
_validators: dict[str, GXValidator] = {}


def warehouse(settings: Settings | None = None) -> Warehouse:
    settings = settings or load_settings()
    with _lock:
        if settings.warehouse_url not in _warehouses:
            _warehouses[settings.warehouse_url] = Warehouse(settings.warehouse_url, settings.duckdb_memory)
        return _warehouses[settings.warehouse_url]


def validator(wh: Warehouse) -> GXValidator:
    with _lock:
        if wh.url not in _validators:
            _validators[wh.url] = GXValidator(wh.gx_connection_string, wh.engine_kwargs)
        return _validators[wh.url]


def reset() -> None:
    """Close and forget cached engines (tests switch warehouses within one process; the command
    closes them before it exits), and a command's choice to wait for a held DuckDB file."""
    from pipeline.warehouse.duckdb_lock import set_wait

    set_wait(None)
    with _lock:
        for wh in _warehouses.values():
            wh.dispose()
        for v in _validators.values():
            v.close()
        _warehouses.clear()
        _validators.clear()


def sites_dir(value: str | Path | None) -> Path:
    return Path(value).resolve() if value else DEFAULT_SITES_DIR


def get_sites(directory: str | Path | None, only: list[str] | None = None) -> list[SiteConfig]:
    sites = load_sites(sites_dir(directory), only)
    for site in sites:
        simulation_spec(site)  # a demo site's `simulation:` block is checked with the rest of its file
    return sites


def simulation_spec(site: SiteConfig):
    """The site's `simulation:` block as the simulator's typed spec (None for a real site);
    errors name the file and field like every other config error."""
    from pipeline.simulator.spec import SimulationSpec

    if site.simulation is None:
        return None
    try:
        return SimulationSpec.model_validate({"ods_code": site.ods_code, **site.simulation})
    except ValidationError as e:
        raise ConfigError(format_errors(site.path or Path(f"{site.ods_code}.yaml"), e, ("simulation",))) from None


def check_runnable(site: SiteConfig) -> None:
    """What loading a site file cannot check and a run would otherwise find only when it reaches
    the source or the benefit, minutes in: each enabled source's connector and options, and each
    benefit's measure. Errors name the file and the field (issue 15 #5)."""
    import difflib

    from connectors.base import ConnectorError
    from connectors.registry import get_connector
    from pipeline.marts.build import measure_lookup

    path = site.path or Path(f"{site.ods_code}.yaml")
    for i, source in enumerate(site.sources):
        if not source.enabled:
            continue
        try:
            cls = get_connector(source.connector)
        except ConnectorError as e:
            raise ConfigError(f"{path}: sources.{i}.connector: {e}") from None
        try:
            cls.config_model.model_validate(source.options)
        except ValidationError as e:
            raise ConfigError(format_errors(path, e, ("sources", i, "options"))) from None
    if site.role != "trust" or not site.benefit_list:
        return
    try:
        known = measure_lookup(site)
    except ValueError as e:  # a local measure's SQL header; the message names that file
        raise ConfigError(str(e)) from None
    for i, b in enumerate(site.benefit_list):
        if b.measure not in known:
            near = difflib.get_close_matches(b.measure, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; measures: {', '.join(sorted(known))}"
            raise ConfigError(f"{site.benefits_path or path}: benefits.{i}.measure: unknown measure {b.measure!r}{hint}")


def prepare_warehouse(wh: Warehouse, sites: list[SiteConfig]) -> None:
    ensure_schema(wh, [s.schema for s in sites if s.role == "trust"])
    write_sites(wh, sites)


def simulation_dir(settings: Settings, site: SiteConfig) -> Path:
    return settings.home / "simulated" / site.ods_code


def simulate_missing(settings: Settings, sites: list[SiteConfig]) -> list[str]:
    """Write simulated extracts for demo sites that have none yet (or whose spec changed)."""
    from pipeline.simulator import simulate_site

    done = []
    for site in sites:
        spec = simulation_spec(site)
        if spec is None:
            continue
        out = simulation_dir(settings, site)
        truth = out / "ground_truth.json"
        spec_json = json.loads(spec.model_dump_json())
        if truth.exists():
            try:
                if json.loads(truth.read_text()).get("spec") == spec_json:
                    continue
            except (OSError, ValueError):
                pass
        log.info("simulating extracts for %s into %s", site.ods_code, out)
        simulate_site(spec, out)
        done.append(site.ods_code)
    return done
