"""More simulated sites than the demo has: a bundled trust's config under a new ODS code, with its
own simulated extracts, and a way to break one on purpose."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from pipeline.simulator import SimulationSpec, simulate_site
from tests.support.demo import TEST_SCALE, bundled_configs


def derived_site(
    template: str,
    ods: str,
    simulated_root: Path,
    sites_dir: Path,
    *,
    seed: int,
    scale: float | None = None,
    start: str | None = None,
    end: str | None = None,
    simulate: bool = True,
) -> Path:
    """Write `<ods>.yaml` in sites_dir: the bundled `template` site's sources, mappings and
    benefits, pointed at freshly simulated extracts for `ods` under simulated_root."""
    cfg = copy.deepcopy(bundled_configs()[template])
    sim = cfg.pop("simulation")
    spec = SimulationSpec(
        **{
            **sim,
            "ods_code": ods,
            "seed": seed,
            "scale": scale if scale is not None else TEST_SCALE[sim.get("trust_type", "acute")],
            **({"start": start} if start else {}),
            **({"end": end} if end else {}),
        }
    )
    if simulate:
        simulate_site(spec, simulated_root / ods)
    cfg["ods_code"] = ods
    cfg["name"] = f"Simulated trust {ods} (after {template})"
    for source in cfg.get("sources", []):
        path = source["options"]["path"]
        source["options"]["path"] = path.replace(f"${{BENEFITS_HOME}}/simulated/{template}", str(simulated_root / ods))
    for benefit in cfg.get("benefits", []):
        benefit["id"] = benefit["id"].replace(template, ods, 1)
    sites_dir.mkdir(parents=True, exist_ok=True)
    path = sites_dir / f"{ods}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def break_header(csv_path: Path) -> None:
    """Rename the first column of the header, as a changed export would: the column the contract
    needs is missing, so the batch is held (a cut-off row is only quarantined, issue 15 #2)."""
    data = csv_path.read_bytes()
    csv_path.write_bytes(b"Renamed" + data)
