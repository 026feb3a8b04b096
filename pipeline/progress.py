"""Progress events from the pipeline to whoever shows them (the CLI's progress bars).

Flows and library code call `emit`; nothing listens when running under a Prefect worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from pipeline.warehouse.faults import on_event

_listeners: list[Callable[..., None]] = []
_lock = threading.Lock()


def subscribe(listener: Callable[..., None]) -> Callable[[], None]:
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def emit(event: str, **data) -> None:
    on_event(event, data)  # a crash drill may end the process here (BENEFITS_FAULT)
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(event, **data)
