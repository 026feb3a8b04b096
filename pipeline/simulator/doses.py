"""Scheduled doses: every patient in hospital has a regimen, every regimen line a daily slot.

A spell's regimen is drawn at admission (drug, dose, 1-4 slots a day on the ward's drug
rounds); a dose is due at each slot time inside the stay. Each dose's outcome is drawn
given the month's rates: for critical medicines P(omitted | due) is the
omitted_critical_doses_rate and P(> 30 min late | given) the delayed_critical_doses_rate,
so both national measures recover them. Doses are generated in day windows so a month
never has to sit in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import codes, defects
from .frame import DAY, NULL_TIME, Frame
from .profiles import (
    CRITICAL_NOT_REQUIRED,
    CRITICAL_REFUSED,
    LATE_MEAN_EXTRA_SECONDS,
    LATE_MIN_SECONDS,
    OMISSION_REASON_SHARES,
    ON_TIME_MAX_SECONDS,
    OTHER_DELAYED,
    OTHER_NOT_REQUIRED,
    OTHER_OMITTED,
    OTHER_REFUSED,
    drug_inclusion,
)
from .truth import Tally

DATASET = "medication_administrations"
CHUNK_ROWS = 250_000
LATE_CAP_SECONDS = 8 * 3600

GIVEN, OMITTED, REFUSED, NOT_REQUIRED = range(4)
CLINICAL = codes.OMISSION_REASON_CODES.index("CLIN")
DECLINED = codes.OMISSION_REASON_CODES.index("DECLINED")

DRUG_INCLUSION = drug_inclusion()
DRUG_CRITICAL = np.array([d.critical for d in codes.DRUGS])
DRUG_UNIT = np.array([d.unit for d in codes.DRUGS], dtype=np.int8)
DRUG_PER_DAY = np.array([d.per_day for d in codes.DRUGS], dtype=np.int64)
_N_DOSES = np.array([len(d.doses) for d in codes.DRUGS])
_DOSE_TABLE = np.array([list(d.doses) + [0.0] * (_N_DOSES.max() - len(d.doses)) for d in codes.DRUGS])
_SLOT_TABLE = np.zeros((5, 4), dtype=np.int64)
for _f, _hours in codes.DOSE_SLOTS_BY_FREQUENCY.items():
    _SLOT_TABLE[_f, : len(_hours)] = np.array(_hours) * 3600


def _within_group(counts: np.ndarray) -> np.ndarray:
    """0, 1, ... within each run of np.repeat(..., counts)."""
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)


def regimens(gen: np.random.Generator, n_spells: int, offset: int) -> Frame:
    """Regimen lines (one per drug and daily slot) for n new spells at pool positions offset..."""
    taken = gen.random((n_spells, len(DRUG_INCLUSION))) < DRUG_INCLUSION
    spell, drug = np.nonzero(taken)
    spell = offset + spell.astype(np.int64)
    dose = _DOSE_TABLE[drug, (gen.random(len(spell)) * _N_DOSES[drug]).astype(np.int64)]
    per_day = DRUG_PER_DAY[drug]
    line = np.repeat(np.arange(len(spell)), per_day)
    return Frame(
        spell=spell[line],
        drug=drug[line].astype(np.int16),
        slot=_SLOT_TABLE[per_day[line], _within_group(per_day)],
        dose_value=dose[line],
    )


def _due_count(slot: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First day index and number of days d with start <= d*DAY + slot < end."""
    first = -((slot - start) // DAY)
    stop = -((slot - end) // DAY)
    return first, np.maximum(stop - first, 0)


def month_chunks(
    pool: Frame,
    lines: Frame,
    ms: int,
    mn: int,
    p_omit: float,
    p_delay: float,
    tally: Tally,
    i: int,
    draw_rng,
    defect_rate: float,
) -> Iterator[tuple[Frame, np.ndarray]]:
    """Yield (doses, defect kinds) in scheduled-time order, a few days at a time.

    `draw_rng(chunk)` gives the keyed generator of a chunk; chunk boundaries depend only on
    the spells in hospital, so the output is deterministic.
    """
    sp = lines["spell"]
    start = np.maximum(pool["admit"][sp], ms)
    end = np.minimum(pool["discharge"][sp], mn)
    total = int(_due_count(lines["slot"], start, end)[1].sum())
    n_days = (mn - ms) // DAY
    window = max(1, CHUNK_ROWS * n_days // max(total, 1)) * DAY
    for c, cs in enumerate(range(ms, mn, window)):
        first, count = _due_count(lines["slot"], np.maximum(start, cs), np.minimum(end, cs + window))
        line = np.repeat(np.arange(len(count)), count)
        scheduled = (first[line] + _within_group(count)) * DAY + lines["slot"][line]
        order = np.argsort(scheduled, kind="stable")
        line, scheduled = line[order], scheduled[order]
        gen = draw_rng(c)
        doses = _outcomes(gen, pool, lines, line, scheduled, p_omit, p_delay)
        kinds = defects.draw(gen, len(line), defect_rate, DATASET)
        _count(tally, i, doses, kinds)
        yield doses, kinds


def _outcomes(gen, pool, lines, line, scheduled, p_omit, p_delay) -> Frame:
    n = len(line)
    drug = lines["drug"][line]
    crit = DRUG_CRITICAL[drug]
    u = gen.random(n)
    not_required = np.where(crit, CRITICAL_NOT_REQUIRED, OTHER_NOT_REQUIRED)
    omit = np.where(crit, p_omit, OTHER_OMITTED)
    refuse = np.where(crit, CRITICAL_REFUSED, OTHER_REFUSED)
    v = (u - not_required) / (1 - not_required)  # uniform again given the dose is due
    status = np.select(
        [u < not_required, v < omit, v < omit + refuse], [NOT_REQUIRED, OMITTED, REFUSED], GIVEN
    ).astype(np.int8)
    late = gen.random(n) < np.where(crit, p_delay, OTHER_DELAYED)
    late_by = LATE_MIN_SECONDS + np.minimum(gen.exponential(LATE_MEAN_EXTRA_SECONDS, n), LATE_CAP_SECONDS)
    on_time = gen.integers(0, ON_TIME_MAX_SECONDS + 1, n)
    offset = np.where(late, late_by.astype(np.int64), on_time)
    reason = np.select(
        [status == OMITTED, status == REFUSED, status == NOT_REQUIRED],
        [gen.choice(len(OMISSION_REASON_SHARES), n, p=OMISSION_REASON_SHARES), DECLINED, CLINICAL],
        -1,
    ).astype(np.int8)
    sp = lines["spell"][line]
    return Frame(
        number=np.zeros(n, np.int64),  # set by the writer, which numbers rows across the site
        patient=pool["patient"][sp],
        ward=pool["ward"][sp],
        drug=drug,
        scheduled=scheduled,
        administered=np.where(status == GIVEN, scheduled + offset, NULL_TIME),
        status=status,
        reason=reason,
        dose_value=lines["dose_value"][line],
    )


def _count(tally: Tally, i: int, d: Frame, kinds: np.ndarray) -> None:
    ok = defects.is_clean(kinds) & DRUG_CRITICAL[d["drug"]]
    due = ok & (d["status"] != NOT_REQUIRED)
    tally.add("omitted_critical_doses_rate", i, num=(due & (d["status"] == OMITTED)).sum(), den=due.sum())
    given = ok & (d["status"] == GIVEN)
    late = given & (d["administered"] - d["scheduled"] > 30 * 60)
    tally.add("delayed_critical_doses_rate", i, num=late.sum(), den=given.sum())
