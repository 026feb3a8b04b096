"""`benefits simulate`: write simulated trust extracts and their ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli._console import console, err, error, setup_logging


@app.command()
def simulate(
    sites: Annotated[Path | None, typer.Option("--sites", help="site configs whose `simulation:` blocks to run")] = None,
    site: Annotated[list[str] | None, typer.Option("--site", help="only this site; repeatable")] = None,
    ods: Annotated[str | None, typer.Option("--ods", help="simulate one ad-hoc site with this ODS code")] = None,
    scale: Annotated[float, typer.Option(help="volume relative to a large acute trust (ad-hoc site)")] = 0.015,
    seed: Annotated[int, typer.Option(help="random seed (ad-hoc site)")] = 0,
    start: Annotated[str, typer.Option(help="first month YYYY-MM (ad-hoc site)")] = "2016-04",
    end: Annotated[str, typer.Option(help="last month YYYY-MM (ad-hoc site)")] = "2019-03",
    flavour: Annotated[str, typer.Option(help="local_csv or contract_parquet (ad-hoc site)")] = "local_csv",
    trust_type: Annotated[str, typer.Option(help="acute or mental_health (ad-hoc site)")] = "acute",
    output: Annotated[Path | None, typer.Option("--output", help="output folder (default: BENEFITS_HOME/simulated/<ODS>)")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Write simulated extracts (CSV/Parquet per site, dataset and month) and ground_truth.json."""
    setup_logging(verbose)
    from pydantic import ValidationError

    from pipeline.config.sites import ConfigError
    from pipeline.runtime import get_sites, simulation_dir, simulation_spec
    from pipeline.config.settings import load_settings
    from pipeline.simulator import SimulationSpec, simulate_site

    settings = load_settings()
    jobs: list[tuple[SimulationSpec, Path]] = []
    if ods:
        try:
            spec = SimulationSpec(
                ods_code=ods, scale=scale, seed=seed, start=start, end=end, flavour=flavour, trust_type=trust_type
            )
        except ValidationError as e:
            for x in e.errors():
                error(f"--{'.'.join(map(str, x['loc'])).replace('_', '-')}: {x['msg']}")
            raise typer.Exit(2) from None
        jobs.append((spec, output or settings.home / "simulated" / ods))
    else:
        try:
            configs = get_sites(sites, site)
        except ConfigError as e:
            error(e)
            raise typer.Exit(2) from None
        for cfg in configs:
            spec = simulation_spec(cfg)
            if spec is not None:
                target = (output / cfg.ods_code) if output else simulation_dir(settings, cfg)
                jobs.append((spec, target))
        if not jobs:
            err.print("no site has a `simulation:` block; use --ods for an ad-hoc site", highlight=False)
            raise typer.Exit(2)
    for spec, target in jobs:
        result = simulate_site(spec, target)
        console.print(f"{spec.ods_code}: wrote {target} ({result.seconds:.1f} s)", highlight=False)
