"""Shared by the benchmark scripts: measure peak memory and write one section of docs/benchmarks.md.

Each benchmark owns the section between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, so
scripts can be rerun one at a time without clobbering each other's results.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Every figure here is written by a script under `bench/` (run it to refresh its section).
Ratios compare against a baseline measured in the same run on the same machine, so they
travel better than absolute seconds. Peak memory is the maximum resident set size of the
process that did the work (`ru_maxrss`).
"""


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {dt.date.today():%Y-%m-%d}"


def write_section(name: str, markdown: str) -> None:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.strip()}\n\n_Measured on {machine()}._\n{end}"
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else HEADER
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    BENCHMARKS_MD.parent.mkdir(parents=True, exist_ok=True)
    BENCHMARKS_MD.write_text(text)


def run_measured(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float, str]:
    """Run a command in a child process; return (seconds, peak RSS in MiB, combined output).

    Peak RSS comes from wait4's rusage for that child alone, so each measurement is
    independent of the others made in the same benchmark run.
    """
    with tempfile.TemporaryFile(mode="w+") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        out = log.read()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n{out[-4000:]}")
    return seconds, usage.ru_maxrss / 1024, out


def python() -> str:
    return sys.executable
