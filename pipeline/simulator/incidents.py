"""Patient safety incidents: drawn against the month's occupied bed days, on real bed days.

Each category's count is Poisson(rate per 1000 bed days * bed days / 1000); each incident
is placed on a bed day picked uniformly from those occupied in the month, so it happens
on the ward of a patient who was there. Reporting lags (lognormal) and reports that would
land at a weekend are mostly held until Monday office hours.
"""

from __future__ import annotations

import numpy as np

from . import codes, defects
from .frame import DAY, Frame, midnights, weekday
from .profiles import (
    HARM_SHARES,
    MEDICATION_STAGE_SHARES,
    OTHER_INCIDENT_RATES,
    REPORT_DELAY_MEDIAN_HOURS,
    REPORT_DELAY_SIGMA,
    WEEKEND_HOLD_SHARE,
)
from .truth import Tally

DATASET = "patient_safety_incidents"
MED, PTID = codes.INCIDENT_TYPE_CODES.index("MED"), codes.INCIDENT_TYPE_CODES.index("PTID")


def month_incidents(
    gen: np.random.Generator, pool: Frame, ms: int, mn: int, med_rate: float, ptid_rate: float
) -> Frame:
    nights, first = midnights(pool["admit"], pool["discharge"], ms // DAY, mn // DAY)
    bed_days = int(nights.sum())
    rates = {"MED": med_rate, "PTID": ptid_rate, **OTHER_INCIDENT_RATES}
    counts = gen.poisson([rates[c] * bed_days / 1000 for c in codes.INCIDENT_TYPE_CODES])
    category = np.repeat(np.arange(len(counts), dtype=np.int8), counts)
    n = len(category)
    cum = np.cumsum(nights)
    pick = gen.integers(0, max(bed_days, 1), n)
    spell = np.searchsorted(cum, pick, side="right")
    night = first[spell] + pick - (cum[spell] - nights[spell])
    # The day that starts at that midnight, while the patient was still there.
    room = np.minimum(DAY, pool["discharge"][spell] - night * DAY)
    occurred = night * DAY + (gen.random(n) * room).astype(np.int64)
    harm = np.zeros(n, np.int8)
    for c, code in enumerate(codes.INCIDENT_TYPE_CODES):
        sel = category == c
        harm[sel] = gen.choice(len(codes.HARM_CODES), int(sel.sum()), p=HARM_SHARES[code])
    stage = np.where(
        category == MED, gen.choice(len(MEDICATION_STAGE_SHARES), n, p=MEDICATION_STAGE_SHARES), -1
    ).astype(np.int8)
    delay = gen.lognormal(np.log(REPORT_DELAY_MEDIAN_HOURS * 3600), REPORT_DELAY_SIGMA, n).astype(np.int64)
    reported = occurred + 60 + delay
    wd = weekday(reported // DAY)
    hold = (wd >= 5) & (gen.random(n) < WEEKEND_HOLD_SHARE)
    monday = (reported // DAY + 7 - wd) * DAY + 8 * 3600 + gen.integers(0, 9 * 3600, n)
    reported = np.where(hold, monday, reported)
    order = np.argsort(occurred, kind="stable")
    return Frame(
        number=np.zeros(n, np.int64),
        ward=pool["ward"][spell],
        occurred=occurred,
        reported=reported,
        category=category,
        harm=harm,
        stage=stage,
    ).take(order)


def count(tally: Tally, i: int, rows: Frame, kinds: np.ndarray) -> None:
    ok = defects.is_clean(kinds)
    tally.add("medication_incidents_per_1000_bed_days", i, num=(ok & (rows["category"] == MED)).sum())
    tally.add("patient_id_incidents_per_1000_bed_days", i, num=(ok & (rows["category"] == PTID)).sum())
