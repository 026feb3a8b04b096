"""Locks that let several runs share one warehouse: per source, and loads versus a marts build.

Loads of different sites touch disjoint rows (`_site` differs) and run side by side. Two loads
of the *same* site and source must not overlap: each reads the watermark, deletes the months it
covers and inserts its rows, so two at once would both load the same files, and under
PostgreSQL's read-committed isolation one load's delete cannot see the other's uncommitted
inserts, which leaves duplicates. A daily run racing a backfill, or a rerun started while the
scheduled run is still going, would do exactly that.

A marts build reads staging in many statements; a load committing between two of them would
leave one measure with the batch and the next without it. So loads hold a shared lock and a
marts build an exclusive one: the build waits for loads in flight and new loads wait for it.

On PostgreSQL these are session-level advisory locks held on a connection of their own, so
they work across processes and machines (every worker shares the warehouse) and vanish if the
process dies. DuckDB admits one writing process, so a lock inside this process is enough.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Iterator

import sqlalchemy as sa

from pipeline.warehouse.core import Warehouse

log = logging.getLogger(__name__)

# How long a load waits for another load of the same source before giving up.
DEFAULT_WAIT_SECONDS = 3600.0
_POLL_SECONDS = 0.25

_local_guard = threading.Lock()
_local_locks: dict[tuple, threading.Lock] = {}
_local_rw: dict[str, _ReadWriteLock] = {}


class LockTimeout(TimeoutError):
    """Another run held the lock for longer than we were prepared to wait."""


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, the same in every process."""
    digest = hashlib.sha256("|".join(("benefits", *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class _ReadWriteLock:
    """Many readers or one writer, within this process (the DuckDB case)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writer and self._readers == 0)
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


def _local_lock(wh: Warehouse, parts: tuple[str, ...]) -> threading.Lock:
    with _local_guard:
        return _local_locks.setdefault((wh.url, *parts), threading.Lock())


def _local_rwlock(wh: Warehouse) -> _ReadWriteLock:
    with _local_guard:
        if wh.url not in _local_rw:
            _local_rw[wh.url] = _ReadWriteLock()
        return _local_rw[wh.url]


def _release(conn: sa.Connection, sql: str, key: int) -> None:
    try:
        conn.execute(sa.text(sql), {"k": key})
        conn.commit()
    except Exception:  # noqa: BLE001  a broken session: closing it releases its locks
        log.warning("could not release advisory lock %s cleanly; discarding the connection", key)
        conn.invalidate()


def _try_lock(conn: sa.Connection, key: int, wait_seconds: float, what: str) -> None:
    deadline = time.monotonic() + wait_seconds
    waited = False
    while True:
        got = conn.execute(sa.text("select pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        conn.commit()  # never sit idle in a transaction while holding or waiting
        if got:
            if waited:
                log.info("%s: lock acquired", what)
            return
        if not waited:
            log.info("%s: another run holds the lock; waiting", what)
            waited = True
        if time.monotonic() >= deadline:
            raise LockTimeout(f"{what}: another run held the lock for more than {wait_seconds:.0f} s")
        time.sleep(_POLL_SECONDS)


@contextlib.contextmanager
def _pg_held(conn: sa.Connection, key: int, *, shared: bool = False) -> Iterator[None]:
    """A session-level advisory lock on `conn`, waited for, released on the way out."""
    kind = "_shared" if shared else ""
    conn.execute(sa.text(f"select pg_advisory_lock{kind}(:k)"), {"k": key})
    conn.commit()  # never sit idle in a transaction while holding it
    try:
        yield
    finally:
        _release(conn, f"select pg_advisory_unlock{kind}(:k)", key)


@contextlib.contextmanager
def _pg_exclusive(wh: Warehouse, key: int) -> Iterator[None]:
    """An exclusive advisory lock on a connection of its own."""
    with wh.engine.connect() as conn, _pg_held(conn, key):
        yield


@contextlib.contextmanager
def load_lock(
    wh: Warehouse, site_code: str, source_name: str, *, wait_seconds: float = DEFAULT_WAIT_SECONDS
) -> Iterator[None]:
    """Held around one source's extract-validate-load: one load per site+source at a time,
    and no load while a marts build is reading staging."""
    what = f"{site_code}/{source_name}"
    if wh.dialect != "postgresql":
        lock = _local_lock(wh, ("load", site_code, source_name))
        if not lock.acquire(timeout=wait_seconds):
            raise LockTimeout(f"{what}: another run held the lock for more than {wait_seconds:.0f} s")
        try:
            with _local_rwlock(wh).read():
                yield
        finally:
            lock.release()
        return
    source_key, staging_key = lock_key("load", site_code, source_name), lock_key("staging")
    with wh.engine.connect() as conn:
        # The source lock first, polled; then the shared staging lock, queued behind any
        # marts build. A load waiting for its source holds nothing a build waits for.
        _try_lock(conn, source_key, wait_seconds, what)
        try:
            with _pg_held(conn, staging_key, shared=True):
                yield
        finally:
            _release(conn, "select pg_advisory_unlock(:k)", source_key)


@contextlib.contextmanager
def staging_snapshot_lock(wh: Warehouse) -> Iterator[None]:
    """Held around a marts build: waits for loads in flight, holds new ones until it is done."""
    if wh.dialect != "postgresql":
        with _local_rwlock(wh).write():
            yield
        return
    with _pg_exclusive(wh, lock_key("staging")):
        yield


@contextlib.contextmanager
def schema_lock(wh: Warehouse) -> Iterator[None]:
    """Held around schema creation: PostgreSQL's `create schema/table if not exists` race each
    other (a unique violation in the catalogue) when two fresh runs start together."""
    if wh.dialect != "postgresql":
        with _local_lock(wh, ("ddl",)):
            yield
        return
    with _pg_exclusive(wh, lock_key("ddl")):
        yield
