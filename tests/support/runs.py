"""`benefits run` in a child process as a user runs it, in its own session so that a killed run's
children (Prefect's temporary server) are reaped and do not hold the pipes open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def run_cli(sites: Path, home: Path, prefect_home: Path, url: str | None = None, **env) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "BENEFITS_HOME": str(home), "PREFECT_HOME": str(prefect_home), **env}
    for inherited in ("BENEFITS_WAREHOUSE_URL", "PREFECT_API_URL", "BENEFITS_FAULT"):
        full_env.pop(inherited, None)
    full_env.update(env)
    if url:
        full_env["BENEFITS_WAREHOUSE_URL"] = url
    cmd = [sys.executable, "-m", "pipeline", "run", "--sites", str(sites)]
    proc = subprocess.Popen(
        cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        proc.wait(timeout=600)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
