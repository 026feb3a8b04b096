"""The temporary Prefect server `benefits run` starts dies with it, even when the command is
killed with SIGKILL (issue 15 #10)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.robustness.cli import ROOT, clean_env


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_the_temporary_server_dies_with_a_killed_run(tmp_path):
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "RAA.yaml").write_text("ods_code: RAA\nname: A trust\ntrust_type: acute\nregion: London\n")
    run = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--sites", str(sites)],
        env=clean_env(tmp_path), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        servers: list[int] = []
        while time.monotonic() < deadline and not servers:
            servers = [c for c in _children(run.pid) if b"uvicorn" in Path(f"/proc/{c}/cmdline").read_bytes()]
            time.sleep(0.1)
        assert servers, "the run started no temporary server"
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(s) for s in servers):
        time.sleep(0.2)
    left = [s for s in servers if _alive(s)]
    for s in left:  # do not leave it behind for the next test either
        os.kill(s, signal.SIGKILL)
    assert not left, f"temporary Prefect server {left} outlived the killed run"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_rerun_stops_a_server_left_by_a_dead_run(tmp_path):
    # An orphan that looks like a left-behind temporary server: the same module in its command
    # line and Prefect's ephemeral flag in its environment, its parent gone (double fork).
    env = {**clean_env(tmp_path), "PREFECT__SERVER_EPHEMERAL": "1"}
    code = (
        "import os, subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', "
        "'prefect.server.api.server:create_app'], start_new_session=True,\n"
        "    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(p.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    orphan = int(done.stdout.split()[0])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{orphan}/stat").read_text().rsplit(")", 1)[1].split()[1] != "1":
            time.sleep(0.1)
        if Path(f"/proc/{orphan}/stat").read_text().rsplit(")", 1)[1].split()[1] != "1":
            pytest.skip("orphans are not reparented to PID 1 here (a subreaper)")
        sites = tmp_path / "sites"
        sites.mkdir()
        (sites / "RAA.yaml").write_text("bad: yaml: here\n")  # the run ends at once, after the clean-up
        subprocess.run([sys.executable, "-m", "pipeline", "run", "--sites", str(sites)], env=clean_env(tmp_path),
                       cwd=ROOT, capture_output=True, timeout=60)  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(orphan):
            time.sleep(0.1)
        assert not _alive(orphan)
    finally:
        if _alive(orphan):
            os.kill(orphan, signal.SIGKILL)
