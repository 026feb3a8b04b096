"""Seeded simulator of trust system extracts with known, injected benefit effects.

`simulate_site` writes one site's monthly extracts (medication administrations, patient
safety incidents, inpatient spells) and `ground_truth.json`; `simulate_measure_series`
draws one measure's monthly counts from the same generative model (see `rates`) without
generating records. Code lists and local->contract maps are in `codes`.
"""

from .series import simulate_measure_series
from .site import SimulationResult, simulate_site
from .spec import EFFECT_MEASURES, SIMULATED_DATASETS, EffectSpec, SimulationSpec, parse_month

__all__ = [
    "EFFECT_MEASURES",
    "SIMULATED_DATASETS",
    "EffectSpec",
    "SimulationResult",
    "SimulationSpec",
    "parse_month",
    "simulate_measure_series",
    "simulate_site",
]
