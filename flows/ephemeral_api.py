"""Start Prefect's temporary API server early, while the command is still importing.

With no API URL configured, Prefect starts a local API server in a subprocess the first time a
flow needs it, and waits for it (~5 s on two cores) before the flow begins. The server does
not depend on anything the command does first, so `benefits run` launches it at once and lets
it boot on the other core while this process imports the pipeline and reads the site
configuration (docs/benchmarks.md, `run_10m`).

The launch imports nothing from Prefect (importing Prefect from two threads
at once trips over its circular imports). It names the server in the environment
(PREFECT_API_URL, before Prefect is imported, so Prefect's settings read it) and marks it as this
command's temporary server (TEMPORARY_API_ENV), so `flows.common.api_url` still reports no
configured server. Prefect's own way to adopt a server, its SubprocessASGIServer singleton,
lives in the API server's module, and importing that costs the command 2-2.5 s of wall time
(measured on 2 cores: it competes with the booting server for the other core).

`adopt` later checks in the main thread that nothing else names an API (a settings context of
Prefect's, as tests use, wins) and that the server answers. Otherwise it is stopped, the
environment restored, and Prefect does as it always would. The server is stopped at exit by the
handler registered at launch, which runs after Prefect's own exit handlers (registered later).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
# Names the URL of the temporary server this command launched (and its child processes share).
TEMPORARY_API_ENV = "BENEFITS_TEMPORARY_PREFECT_API"


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _may_name_an_api() -> bool:
    """Without importing Prefect: might Prefect's settings name an API server? The environment,
    the active profile, or a settings file in the working directory (prefect.toml, a
    [tool.prefect] table in pyproject.toml, .env): with any of those, nothing is launched."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    cwd = Path.cwd()
    if (cwd / "prefect.toml").exists() or (cwd / ".env").exists():
        return True
    try:
        if "[tool.prefect" in (cwd / "pyproject.toml").read_text():
            return True
    except OSError:
        pass
    return _profile_sets_api_url()


def _profile_sets_api_url() -> bool:
    """Does the active Prefect profile name an API?"""
    home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml")).expanduser()
    try:
        profiles = tomllib.loads(path.read_text())
    except (OSError, ValueError):
        return False
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active", "ephemeral")
    return bool(profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL"))


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _healthy(process: subprocess.Popen, api_url: str, timeout: float) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                if client.get(f"{api_url}/health").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    return False


def _forget(api_url: str) -> None:
    """Take the launched server's URL out of the environment and out of Prefect's root settings."""
    for name in ("PREFECT_API_URL", TEMPORARY_API_ENV):
        if os.environ.get(name) == api_url:
            del os.environ[name]
    if "prefect.context" in sys.modules:
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


def _adopt(process: subprocess.Popen, api_url: str) -> None:
    from prefect.context import refresh_global_settings_context
    from prefect.settings import get_current_settings

    refresh_global_settings_context()  # Prefect imported before the launch has not read the URL
    settings = get_current_settings()
    if str(settings.api.url or "") != api_url or not settings.server.ephemeral.enabled:
        _stop(process)  # a configured server wins (a settings context), or no temporary one allowed
        _forget(api_url)
        return
    if not _healthy(process, api_url, settings.server.ephemeral.startup_timeout_seconds):
        log.debug("the early temporary Prefect API did not start; Prefect will start its own")
        _stop(process)
        _forget(api_url)


def start_ephemeral_api(log_path: Path) -> Callable[[], None]:
    """Launch Prefect's temporary API server now; returns `adopt`, to call (in the main thread,
    before the first flow) to hand it to Prefect. A flow started before `adopt` would launch a
    second server.

    The server's own output goes to `log_path` (rewritten each time), not to the terminal: the
    command's output is its progress and summary, and a server-side traceback (seen once in CI,
    at server start-up or shutdown, the run itself unaffected) belongs with the server's log."""
    reap_orphans()
    if _may_name_an_api():
        return lambda: None
    spec = importlib.util.find_spec("prefect")
    if spec is None or spec.origin is None:
        return lambda: None
    port = _free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as server_log:
        process = _launch(spec.origin, port, server_log)
    atexit.register(_stop, process)  # at once: a command that ends early must not leave it running
    api_url = f"http://127.0.0.1:{port}/api"
    os.environ["PREFECT_API_URL"] = os.environ[TEMPORARY_API_ENV] = api_url

    def adopt() -> None:
        try:
            _adopt(process, api_url)
        except Exception as e:  # noqa: BLE001  Prefect starts its own server on first use
            log.debug("could not hand the early temporary Prefect API to Prefect: %s", e)
            _stop(process)
            _forget(api_url)

    return adopt


def reap_orphans() -> list[int]:
    """Stop temporary Prefect servers left by a run that died before it could stop them (one
    started before the parent-death signal, or Prefect's own fallback server): this user's
    ephemeral API servers whose parent is gone (reparented to init). Nothing else uses them.
    Linux only; returns the PIDs stopped."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    stopped = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid != 1:
                continue
            if b"prefect.server.api.server:create_app" not in (entry / "cmdline").read_bytes():
                continue
            if b"PREFECT__SERVER_EPHEMERAL=1" not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            os.kill(int(entry.name), signal.SIGTERM)
            stopped.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    if stopped:
        log.info("stopped %d temporary Prefect server(s) left by a dead run: %s", len(stopped), stopped)
    return stopped


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """On Linux, a pre-exec hook asking the kernel to SIGTERM the server when this process dies,
    however it dies: after a SIGKILL of the command, atexit never runs, and the server (190 MB,
    listening on loopback) was left running for good (issue 15 #10)."""
    if not sys.platform.startswith("linux"):
        return None

    def hook() -> None:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(0)

    return hook


def _launch(prefect_init: str, port: int, output) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(prefect_init).parent.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"},
        stdout=output,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent(os.getpid()),  # noqa: PLW1509  no threads yet: called first thing
    )
