"""Keyed random streams: every draw is tied to (seed, site, dataset, month, ...), never to call order.

Keying by calendar month rather than by position means a month's draws do not change
when the simulated range is extended, and one dataset can be skipped without shifting
another's stream.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np


def _word(part: object) -> int:
    if isinstance(part, dt.date):
        part = f"{part:%Y-%m}"
    # sha256, not hash(): Python salts str hashes per process.
    return int.from_bytes(hashlib.sha256(str(part).encode()).digest()[:8], "little")


def rng(seed: int, *parts: object) -> np.random.Generator:
    """A generator whose stream depends only on `seed` and the key `parts`."""
    entropy = [seed % 2**64, *(_word(p) for p in parts)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
