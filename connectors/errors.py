"""The errors a connector raises, and the network and OS errors every connector meets.

A plain `ConnectorError` is permanent (held for a person); a `TransientError` is worth
retrying. Either names the source and, once the base class has redacted it, carries no secret.
"""

from __future__ import annotations

import errno
import functools
import socket
from pathlib import Path


class ConnectorError(RuntimeError):
    """An extract that cannot go on; the message names the source (file, URL, table).

    A plain ConnectorError is permanent (bad data, bad config, refused credentials): the batch
    is held for a person and retrying would not help.
    """

    transient = False

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after
        self.retried = False  # set when the base class already spent its retries on it


class TransientError(ConnectorError):
    """Worth retrying: connection refused, timeout, HTTP 5xx/429, a dropped connection."""

    transient = True


_TRANSIENT_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.EPIPE,
    errno.EAGAIN,
    errno.EIO,
    errno.ESTALE,
}


def classify_common(exc: BaseException, where: str) -> ConnectorError | None:
    """Errors every connector meets: network and OS errors. None when not recognised."""
    if isinstance(exc, ConnectorError):
        return exc
    # First match wins: the narrower classes (ConnectTimeout, ConnectionRefusedError) come
    # before the classes they derive from.
    for kind, error in (*_requests_rules(), *_OS_RULES):
        if isinstance(exc, kind):
            return error(exc, where)
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return TransientError(f"{where}: {exc.strerror or exc}")
    return None


def _connection_failed(exc: BaseException, where: str) -> ConnectorError:
    reason = "connection refused" if "refused" in str(exc).lower() else "connection failed"
    return TransientError(f"{where}: {reason} ({short_message(exc)})")


def _no_such_file(exc: FileNotFoundError, where: str) -> ConnectorError:
    return ConnectorError(f"{where}: no such file {Path(exc.filename).name if exc.filename else ''}".rstrip())


def _permission_denied(exc: PermissionError, where: str) -> ConnectorError:
    return ConnectorError(f"{where}: permission denied{' on ' + str(exc.filename) if exc.filename else ''}")


@functools.cache
def _requests_rules() -> tuple:
    """requests' errors, imported on first use: a connector that never makes a request never loads it."""
    try:
        import requests
    except ImportError:  # pragma: no cover - requests is a dependency
        return ()
    ex = requests.exceptions
    return (
        (ex.ConnectTimeout, lambda exc, where: TransientError(f"{where}: timed out connecting")),
        (ex.Timeout, lambda exc, where: TransientError(f"{where}: timed out waiting for a response")),
        (ex.ConnectionError, _connection_failed),
    )


_OS_RULES = (
    (socket.timeout | TimeoutError, lambda exc, where: TransientError(f"{where}: timed out")),
    (ConnectionRefusedError, lambda exc, where: TransientError(f"{where}: connection refused")),
    (ConnectionError, lambda exc, where: TransientError(f"{where}: connection lost ({short_message(exc)})")),
    (FileNotFoundError, _no_such_file),
    (PermissionError, _permission_denied),
)


def short_message(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:limit]
