"""Deliberate defects: about `defect_rate` of rows carry exactly one, drawn per row.

Kinds: `null_key` (empty id), `duplicate` (row written twice, same id), `impossible_time`
(administered before scheduled / reported before occurred / discharged before admitted),
`unknown_code` (ward ZZ99, in no mapping), `negative_dose` (medication only).
A row's defect is decided before it is written; the ground truth counts only rows without
one. Both copies of a duplicated row are left out too: the pipeline quarantines every row of a
repeated key (docs/data-quality.md), so neither copy reaches a measure.
"""

from __future__ import annotations

import numpy as np

from . import codes
from .frame import DAY, Frame

KINDS = ("null_key", "duplicate", "impossible_time", "unknown_code", "negative_dose")
NONE = 0
NULL_KEY, DUPLICATE, IMPOSSIBLE_TIME, UNKNOWN_CODE, NEGATIVE_DOSE = range(1, 6)
APPLICABLE = {
    "medication_administrations": KINDS,
    "patient_safety_incidents": KINDS[:4],
    "inpatient_spells": KINDS[:4],
}
GIVEN = codes.DOSE_STATUS_CODES.index("GIVEN")
HOME = codes.DISCHARGE_DESTINATION_CODES.index("19")


def draw(gen: np.random.Generator, n: int, rate: float, dataset: str) -> np.ndarray:
    """Per row: 0 for no defect, else 1 + index into KINDS."""
    kinds = np.zeros(n, dtype=np.int8)
    hit = gen.random(n) < rate
    kinds[hit] = 1 + gen.integers(0, len(APPLICABLE[dataset]), int(hit.sum()))
    return kinds


def is_clean(kinds: np.ndarray) -> np.ndarray:
    return kinds == NONE


def count(kinds: np.ndarray, dataset: str) -> dict[str, int]:
    found = np.bincount(kinds, minlength=len(KINDS) + 1)
    return {k: int(found[1 + KINDS.index(k)]) for k in APPLICABLE[dataset]}


def apply(rows: Frame, kinds: np.ndarray, dataset: str, gen: np.random.Generator, unknown_ward: int) -> Frame:
    """The rows as written: defects applied, duplicated rows repeated in place."""
    if not kinds.any():
        return rows
    out = Frame({k: v.copy() for k, v in rows.items()})
    out["number"][kinds == NULL_KEY] = -1
    out["ward"][kinds == UNKNOWN_CODE] = unknown_ward
    bad = np.flatnonzero(kinds == IMPOSSIBLE_TIME)
    if dataset == "medication_administrations":
        out["administered"][bad] = out["scheduled"][bad] - gen.integers(300, 7200, len(bad))
        out["status"][bad] = GIVEN
        out["reason"][bad] = -1
        neg = kinds == NEGATIVE_DOSE
        out["dose_value"][neg] = -out["dose_value"][neg]
    elif dataset == "patient_safety_incidents":
        out["reported"][bad] = out["occurred"][bad] - gen.integers(3600, 5 * DAY, len(bad))
    else:
        out["discharge"][bad] = out["admit"][bad] - gen.integers(3600, 3 * DAY, len(bad))
        open_ = out["destination"][bad] < 0
        out["destination"][bad[open_]] = HOME
    return out.take(np.repeat(np.arange(len(kinds)), np.where(kinds == DUPLICATE, 2, 1)))
