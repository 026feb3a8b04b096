"""Test-scale copies of the bundled demo: same configs and benefits, much smaller volumes."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.config.settings import DEFAULT_SITES_DIR, PROJECT_ROOT
from pipeline.simulator import SimulationSpec, simulate_site

# Test volumes: enough rows for every rule and measure to be exercised, fast to load.
TEST_SCALE = {"acute": 0.002, "mental_health": 0.01}
TEST_MONTHS = ("2016-04", "2019-03")


def bundled_configs() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(DEFAULT_SITES_DIR.glob("*.yaml"))}


def simulate_small(root: Path) -> Path:
    for ods, cfg in bundled_configs().items():
        sim = cfg.get("simulation")
        if not sim:
            continue
        spec = SimulationSpec(**{**sim, "scale": TEST_SCALE[sim.get("trust_type", "acute")]})
        simulate_site(spec, root / ods)
    return root


def write_sites(target: Path, simulated_root: Path, only: list[str] | None = None) -> Path:
    """Write site configs whose extracts are the session's small simulated ones."""
    target.mkdir(parents=True, exist_ok=True)
    for ods, cfg in bundled_configs().items():
        if only and ods not in only:
            continue
        cfg = dict(cfg)
        cfg.pop("simulation", None)
        for source in cfg.get("sources", []):
            path = source["options"]["path"]
            if path.startswith("${BENEFITS_HOME}/simulated/"):
                source["options"]["path"] = str(simulated_root) + path[len("${BENEFITS_HOME}/simulated") :]
            elif not Path(path).is_absolute():
                source["options"]["path"] = str((DEFAULT_SITES_DIR / path).resolve())
        (target / f"{ods}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return target


def ae_csv() -> Path:
    return PROJECT_ROOT / "data" / "nhs_england_ae_attendances_2016-04_2019-03.csv"
