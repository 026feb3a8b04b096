"""Retrying transient I/O: backoff with jitter, a server's Retry-After, and the extract's deadline."""

from __future__ import annotations

import random
import time

from connectors.errors import ConnectorError, TransientError


def backoff_delay(attempt: int, err: ConnectorError, backoff_seconds: float) -> float:
    """Seconds to wait before retry number `attempt`: the server's Retry-After when it gave one
    (capped at five minutes), else doubling from `backoff_seconds` (capped at a minute), jittered
    so that sites retrying the same server do not retry in step."""
    if err.retry_after is not None:
        return max(0.0, min(float(err.retry_after), 300.0))
    base = backoff_seconds * (2 ** (attempt - 1))
    base = min(base, 60.0)
    return base / 2 + random.uniform(0, base / 2)


def check_deadline(started: float, limit: float | None, where: str) -> None:
    """Give up (transient, without retrying in this run) once the extract has run past `limit` seconds."""
    if limit is not None and time.monotonic() - started > limit:
        err = TransientError(f"{where}: the extract took longer than {limit:g} s")
        err.retried = True  # out of time: no retry within this run
        raise err
