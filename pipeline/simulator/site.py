"""`simulate_site`: one site's extracts, month by month, and their ground truth."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import defects, doses, incidents
from .frame import Frame
from .profiles import profile
from .rates import MODELS, measure_path
from .render import Renderer
from .seeding import rng
from .spec import EFFECT_MEASURES, SimulationSpec
from .spells import DATASET as SPELLS
from .spells import Calendar, SpellProcess
from .truth import FileRecord, GroundTruth, Tally
from .writers import EXTENSIONS, ExtractFile, write_text_atomic

log = logging.getLogger(__name__)
GROUND_TRUTH = "ground_truth.json"


@dataclass(frozen=True)
class SimulationResult:
    out_dir: Path
    ground_truth: Path
    files: dict[str, list[Path]] = field(default_factory=dict)  # dataset -> month files
    rows: dict[str, int] = field(default_factory=dict)  # dataset -> rows written
    seconds: float = 0.0


class _Output:
    """Writes one dataset's month files, numbering its keys across the whole site."""

    def __init__(self, spec: SimulationSpec, out_dir: Path, dataset: str, truth: GroundTruth):
        self.spec, self.out_dir, self.dataset, self.truth = spec, out_dir, dataset, truth
        self.renderer = Renderer(dataset, spec.flavour, spec.ods_code, spec.trust_type)
        self.unknown_ward = len(self.renderer.wards) - 1
        self.next_number = 1
        self.files: list[Path] = []
        self.rows = 0

    def write_month(self, month, chunks, numbered: bool = False) -> None:
        name = f"{self.dataset}_{month:%Y-%m}.{EXTENSIONS[self.spec.flavour]}"
        path = self.out_dir / self.dataset / name
        out = ExtractFile(path, self.spec.flavour, self.renderer.schema, self.renderer.header)
        found = dict.fromkeys(defects.APPLICABLE[self.dataset], 0)
        try:
            for c, (rows, kinds) in enumerate(chunks):
                if not numbered:
                    rows["number"] = self.next_number + np.arange(len(rows), dtype=np.int64)
                    self.next_number += len(rows)
                gen = rng(self.spec.seed, self.spec.ods_code, self.dataset, month, "defect_values", c)
                out.write(self.renderer.table(defects.apply(rows, kinds, self.dataset, gen, self.unknown_ward)))
                for k, v in defects.count(kinds, self.dataset).items():
                    found[k] += v
            digest = out.close()
        except BaseException:
            out.abort()
            raise
        rel = path.relative_to(self.out_dir).as_posix()
        self.truth.add_file(self.dataset, month, FileRecord(rel, out.rows, digest, found))
        self.files.append(path)
        self.rows += out.rows


def simulate_site(spec: SimulationSpec | Mapping, out_dir: Path) -> SimulationResult:
    """Write out_dir/<dataset>/<dataset>_<YYYY-MM>.<csv|parquet> for every dataset in
    spec.datasets and month in spec.months(), then out_dir/ground_truth.json."""
    t0 = time.perf_counter()
    if not isinstance(spec, SimulationSpec):
        spec = SimulationSpec.model_validate(spec)
    site_profile = profile(spec.trust_type)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # A stale ground truth would make an interrupted rerun look complete.
    (out_dir / GROUND_TRUTH).unlink(missing_ok=True)

    cal = Calendar(spec)
    paths = _measure_paths(spec, cal)
    tally = Tally(len(cal.months))
    truth = GroundTruth(spec, {m: paths[m] for m in EFFECT_MEASURES}, tally, site_profile.fill_up_months)
    process = SpellProcess(spec, cal, paths, tally)
    outputs = {d: _Output(spec, out_dir, d, truth) for d in spec.datasets}
    for i, month in enumerate(cal.months):
        _write_month(spec, process, paths, tally, outputs, i, month)
        process.discharge_from_pool(i)
        log.debug("simulated %s %s", spec.ods_code, f"{month:%Y-%m}")

    tally.finish()
    truth_path = out_dir / GROUND_TRUTH
    write_text_atomic(truth_path, truth.to_json())
    seconds = time.perf_counter() - t0
    result = SimulationResult(
        out_dir=out_dir,
        ground_truth=truth_path,
        files={d: o.files for d, o in outputs.items()},
        rows={d: o.rows for d, o in outputs.items()},
        seconds=seconds,
    )
    log.info("simulated %s: %s rows in %.1f s", spec.ods_code, result.rows, seconds)
    return result


def _measure_paths(spec: SimulationSpec, cal: Calendar) -> dict:
    """Each modelled measure's monthly rates over the calendar, with the spec's effects applied."""
    return {
        name: measure_path(
            name,
            cal.months,
            trust_type=spec.trust_type,
            seed=spec.seed,
            key=(spec.ods_code, "rates"),
            effects=[(e.go_live, e.rate_ratio, e.ramp_months) for e in spec.effects if e.measure == name],
            start=spec.start,
        )
        for name in MODELS
    }


def _write_month(spec: SimulationSpec, process: SpellProcess, paths: dict, tally: Tally, outputs: dict, i: int,
                 month) -> None:  # fmt: skip
    """Month i of every dataset asked for: spells, then the doses and incidents that happen during them."""
    ms, mn = int(process.cal.starts[i]), int(process.cal.starts[i + 1])
    rows, kinds = process.month(i)
    if SPELLS in outputs:
        outputs[SPELLS].write_month(month, [(process.written(rows), kinds)], numbered=True)
    if doses.DATASET in outputs:
        chunks = doses.month_chunks(
            process.pool,
            process.lines,
            ms,
            mn,
            paths["omitted_critical_doses_rate"].rate[i],
            paths["delayed_critical_doses_rate"].rate[i],
            tally,
            i,
            lambda c, m=month: rng(spec.seed, spec.ods_code, doses.DATASET, m, c),
            spec.defect_rate,
        )
        outputs[doses.DATASET].write_month(month, chunks)
    if incidents.DATASET in outputs:
        outputs[incidents.DATASET].write_month(month, _incident_chunks(spec, process, paths, tally, i, ms, mn))


def _incident_chunks(spec, process, paths, tally, i, ms, mn):
    month = process.cal.months[i]
    gen = rng(spec.seed, spec.ods_code, incidents.DATASET, month)
    rows: Frame = incidents.month_incidents(
        gen,
        process.pool,
        ms,
        mn,
        paths["medication_incidents_per_1000_bed_days"].rate[i],
        paths["patient_id_incidents_per_1000_bed_days"].rate[i],
    )
    kinds = defects.draw(gen, len(rows), spec.defect_rate, incidents.DATASET)
    incidents.count(tally, i, rows, kinds)
    yield rows, kinds
