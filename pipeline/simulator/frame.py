"""A minimal column store (dict of equal-length numpy arrays) and epoch-second time helpers.

The simulator keeps records as integer codes and epoch seconds until the moment they are
written; pandas would cost memory and time for no benefit here.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

DAY = 86_400
NULL_TIME = -1  # epoch seconds are positive for every simulated date
_EPOCH = dt.date(1970, 1, 1)


class Frame(dict):
    """Named numpy columns of one length."""

    def __len__(self) -> int:  # type: ignore[override]
        return len(next(iter(self.values()))) if dict.__len__(self) else 0

    def take(self, idx: np.ndarray) -> Frame:
        return Frame({k: v[idx] for k, v in self.items()})

    @staticmethod
    def concat(frames: list[Frame]) -> Frame:
        rows = [f for f in frames if len(f)]
        if not rows:
            # Empty, but with its columns: a month without a single admission (a small mental
            # health trust) is processed like any other, and its columns are looked up.
            named = [f for f in frames if dict.__len__(f)]
            return Frame({k: v[:0] for k, v in named[0].items()}) if named else Frame()
        return Frame({k: np.concatenate([f[k] for f in rows]) for k in rows[0]})


def epoch_seconds(day: dt.date) -> int:
    return (day - _EPOCH).days * DAY


def weekday(epoch_day: np.ndarray) -> np.ndarray:
    """Monday = 0; 1970-01-01 was a Thursday."""
    return (epoch_day + 3) % 7


def midnights(admit: np.ndarray, discharge: np.ndarray, first_day: int, end_day: int) -> np.ndarray:
    """Occupied bed days: midnights D (00:00 of day D) with admit < D <= discharge and
    first_day <= D < end_day. Simulated times never fall exactly on midnight, so the
    choice of < or <= at either end does not change the count."""
    lo = np.maximum(admit // DAY + 1, first_day)
    hi = np.minimum(discharge // DAY, end_day - 1)
    return np.maximum(hi - lo + 1, 0), lo
