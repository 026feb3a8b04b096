"""Fixtures for the deployment tests: a local webhook, small simulated sites (four for the
deployed run, one of them broken), two PostgreSQL warehouses.

The sites are the test scale of the demo over 30 months instead of 36 (scale 0.002: about 55k
rows each). Smaller is not faster: a batch costs about the same whatever its size at this scale,
and at scale 0.001 the national mart's small-number suppression gives up on the sparse measures."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import _drop_pg_database, _fresh_pg_database
from tests.flows.sites import break_header, derived_site

# ODS code -> (bundled site it copies, simulation seed)
# (One per bundled template: every site is a CPU-bound ingest on a two-core runner, so each more costs
# the deployed run's three national runs seconds; two more sites gave nothing the three do not.)
TINY = {"TA1": ("RF4", 911), "TB1": ("RJ1", 921), "TC1": ("RRK", 931)}
TINY_SPEC = {"scale": 0.002, "start": "2016-04", "end": "2018-09"}
BROKEN = "TBX"


class Webhook:
    """An HTTP endpoint on 127.0.0.1 that records every JSON body posted to it."""

    def __init__(self, fail_first: int = 0):
        self.received: list[dict] = []
        self.attempts = 0
        self.fail_first = fail_first
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.attempts += 1
                if hook.attempts <= hook.fail_first:
                    self.send_response(503)
                    self.end_headers()
                    return
                hook.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/benefits-alerts-T0KEN"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    """Simulated extracts of the TINY sites, made once per session; tests never modify them."""
    root = tmp_path_factory.mktemp("tiny")
    for ods, (template, seed) in TINY.items():
        derived_site(template, ods, root, root / "_configs", seed=seed, **TINY_SPEC)
    return root


def tiny_sites(target: Path, tiny_root: Path, codes: list[str] | None = None) -> Path:
    """A sites folder with configs for these TINY sites (all by default)."""
    for ods in codes or list(TINY):
        template, seed = TINY[ods]
        derived_site(template, ods, tiny_root, target, seed=seed, simulate=False, **TINY_SPEC)
    return target


@pytest.fixture(scope="module")
def four_sites(tmp_path_factory, tiny_root) -> Path:
    """Three small sites plus a fourth whose ePMA extract lost a column from its header."""
    root = tmp_path_factory.mktemp("four")
    sites = tiny_sites(root / "sites", tiny_root)
    derived_site("RJ1", BROKEN, root / "simulated", sites, seed=929, **TINY_SPEC)
    break_header(sorted((root / "simulated" / BROKEN / "medication_administrations").glob("*.csv"))[-1])
    return sites


@pytest.fixture
def pg_databases():
    """Fresh PostgreSQL databases on demand: `make(prefix)` returns a URL; all dropped afterwards."""
    made = []

    def make(prefix: str) -> str:
        admin, name, url = _fresh_pg_database(prefix)
        made.append((admin, name))
        return url

    yield make
    for admin, name in made:
        _drop_pg_database(admin, name)
