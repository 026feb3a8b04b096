"""A real Prefect stack on this machine: a server on a free loopback port, the process work pool,
workers as subprocesses, `prefect deploy` from deploy/prefect.yaml run from the repository root.

Used by the deployment integration test and by bench/bench_national_run.py. Every process is
started in its own session (process group), and `stop()` terminates the groups, then kills
what is left, so a failing test never leaves a server or a worker's flow runs behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PREFECT = str(BIN / "prefect")
POOL = "benefits-process"

# Settings inherited from the caller's environment that must not leak into the stack.
_DROP = ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_PROFILES_PATH", "PREFECT_API_KEY", "PREFECT_SERVER_API_PORT")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP and not k.startswith("BENEFITS_")}
    env.update(
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_CLI_PROMPT="false",
        PYTHONUNBUFFERED="1",
    )
    return env


class Stack:
    """Server + pool + workers under `root`; use as a context manager."""

    def __init__(self, root: Path, *, pool: str = POOL, server_db_url: str | None = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.pool = pool
        self.server_db_url = server_db_url
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self._server: subprocess.Popen | None = None
        self._deploying: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}
        self._logs: list = []

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115  closed in stop()
        self._logs.append(log)
        return subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def client_env(self, **extra: str) -> dict[str, str]:
        env = _base_env()
        env.update(PREFECT_API_URL=self.api_url, PREFECT_HOME=str(self.root / "client-home"))
        env.update(extra)
        return env

    def start_server(self, timeout: float = 120.0) -> None:
        env = _base_env()
        env.update(PREFECT_HOME=str(self.root / "server-home"), PREFECT_SERVER_LOGGING_LEVEL="WARNING")
        if self.server_db_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.server_db_url
        # No scheduler: the deployments' schedules must not start runs in the middle of a test.
        cmd = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port), "--no-ui", "--no-scheduler"]
        self._server = self._spawn("server", cmd, env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise RuntimeError(f"prefect server exited early:\n{self.log('server')[-3000:]}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"prefect server not healthy after {timeout:.0f} s:\n{self.log('server')[-3000:]}")

    def prefect(self, *args: str, timeout: float = 180.0, env: dict[str, str] | None = None) -> str:
        """Run a `prefect` CLI command against this server from the repository root."""
        proc = subprocess.run(
            [PREFECT, *args],
            cwd=REPO,
            env=env or self.client_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout

    def create_pool(self) -> None:
        self.prefect("work-pool", "create", self.pool, "--type", "process")

    def deploy(self, prefect_file: str = "deploy/prefect.yaml") -> str:
        return self.prefect("--no-prompt", "deploy", "--all", "--prefect-file", prefect_file)

    def start_deploy(self, prefect_file: str = "deploy/prefect.yaml") -> subprocess.Popen:
        """Create the pool and deploy in the background (a shell step); `finish_deploy` waits."""
        script = (
            f"{PREFECT} work-pool create {self.pool} --type process && "
            f"{PREFECT} --no-prompt deploy --all --prefect-file {prefect_file}"
        )
        self._deploying = self._spawn("deploy", ["/bin/sh", "-c", script], self.client_env())
        return self._deploying

    def finish_deploy(self, timeout: float = 180.0) -> str:
        rc = self._deploying.wait(timeout=timeout)
        out = self.log("deploy")
        if rc != 0:
            raise RuntimeError(f"pool creation or prefect deploy failed ({rc}):\n{out[-4000:]}")
        return out

    def start_worker(self, name: str, *, env: dict[str, str], limit: int | None = None) -> None:
        """A process worker; `env` carries BENEFITS_* settings for the flow runs it starts."""
        worker_env = self.client_env(
            BENEFITS_REPO=str(REPO),
            PYTHONPATH=str(REPO),
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_WORKER_HEARTBEAT_SECONDS="5",
            PREFECT_LOGGING_LEVEL="INFO",
        )
        worker_env.update(env)
        cmd = [PREFECT, "worker", "start", "--pool", self.pool, "--type", "process", "--name", name]
        if limit is not None:
            cmd += ["--limit", str(limit)]
        self.workers[name] = self._spawn(f"worker-{name}", cmd, worker_env)

    def wait_for_workers(self, names: list[str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.workers.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"worker {name} exited:\n{self.log(f'worker-{name}')[-3000:]}")
            r = httpx.post(f"{self.api_url}/work_pools/{self.pool}/workers/filter", json={}, timeout=5)
            online = {w["name"] for w in r.json() if w.get("status") == "ONLINE"}
            if set(names) <= online:
                return
            time.sleep(0.5)
        raise TimeoutError(f"workers {names} not online after {timeout:.0f} s")

    @contextlib.contextmanager
    def settings(self) -> Iterator[None]:
        """Point this process's Prefect client at the stack."""
        from prefect.settings import temporary_settings

        with temporary_settings(updates={"api.url": self.api_url}):
            try:
                yield
            finally:
                _stop_client_services()

    def log(self, name: str) -> str:
        p = self.root / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self, grace: float = 10.0) -> None:
        procs = list(self.workers.values()) + [p for p in (self._deploying, self._server) if p]
        # A process worker starts each flow run in a session of its own: find them first.
        groups = {p.pid for p in procs}
        for p in procs:
            groups |= {_pgid(d) for d in _descendants(p.pid)} - {None}
        groups.discard(os.getpgrp())  # never this process's own group
        for g in groups:
            _signal_group(g, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for g in groups:
            _signal_group(g, signal.SIGKILL)
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
        self.workers.clear()
        self._server = self._deploying = None
        for f in self._logs:
            f.close()
        self._logs.clear()


def _stop_client_services() -> None:
    """Prefect keeps process-wide background services (log and event shipping, tag concurrency
    slots), each with an API client made for whichever server was current when it started.
    Stopped while this stack's server still answers, so later flow runs in the process (other
    tests, on another server) start services of their own instead of waiting forever on a
    server that is gone."""
    from prefect._internal.concurrency.services import QueueService

    with QueueService._instance_cache_lock:
        services = list(QueueService._instances.values())
    for service in services:
        with contextlib.suppress(Exception):
            service.drain()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def _descendants(pid: int) -> list[int]:
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None
