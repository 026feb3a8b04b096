"""Processes the run talks to or starts: a dead webhook, the temporary Prefect server (issue 15 #9, #10)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

import pytest

from pipeline.alerts import Alert, send_alerts


@contextlib.contextmanager
def silent_port():
    """A loopback port that accepts connections and never answers: a hung webhook."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook/t0k3n"
    finally:
        stop.set()
        t.join()
        for c in held:
            c.close()
        server.close()


def _alerts(n: int) -> list[Alert]:
    return [Alert(kind="batch_held", site="RF4", source=f"s{i}", reason="held") for i in range(n)]


def test_a_hung_webhook_costs_seconds_and_one_logged_line(caplog):
    with silent_port() as url, caplog.at_level(logging.WARNING, logger="pipeline.alerts"):
        t0 = time.monotonic()
        assert send_alerts(_alerts(5), url) == 0
        took = time.monotonic() - t0
    assert took < 12, f"a hung webhook stalled the run for {took:.0f} s"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    line = errors[0].getMessage()
    assert "\n" not in line and "5 alert(s) not delivered" in line
    assert "t0k3n" not in line  # the webhook's path may hold a token


@pytest.mark.usefixtures("prefect_server")
def test_a_flow_alerting_a_hung_webhook_completes(monkeypatch, caplog):
    from prefect import flow

    from flows.publish import raise_alerts

    @flow
    def alerting() -> str:
        raise_alerts(_alerts(3))
        return "done"

    with silent_port() as url:
        monkeypatch.setenv("BENEFITS_ALERT_WEBHOOK_URL", url)
        t0 = time.monotonic()
        assert alerting() == "done"
        took = time.monotonic() - t0
    assert took < 15, f"a hung webhook stalled the flow for {took:.0f} s"
    assert "Traceback" not in caplog.text
