"""Headless Chromium driven over the DevTools protocol (a websocket on 127.0.0.1), for the report's
browser test: open a page, collect console errors, exceptions and network requests, query the
DOM, take a screenshot and print to PDF.

Chromium comes from the Debian package `chromium`; `find_chromium()` installs it with apt when it
is missing and we are root with apt available (one process at a time, waiting for dpkg's lock),
otherwise the caller skips with the reason (under CI a failed install fails instead).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _which() -> str | None:
    env = os.environ.get("BENEFITS_CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def find_chromium(install: bool = True) -> tuple[str | None, str]:
    """(path to the browser, why not) — installs the Debian package when allowed and possible."""
    path = _which()
    if path:
        return path, ""
    if not install:
        return None, "Chromium is not installed"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None, "Chromium is not installed and we are not root to `apt-get install -y chromium`"
    if not shutil.which("apt-get"):
        return None, "Chromium is not installed and apt-get is not available"
    with _install_lock():  # the two xdist workers: one installs, the other waits and then finds it
        path = _which()
        if path:
            return path, ""
        proc = _apt_install()
    path = _which()
    if path:
        return path, ""
    return None, f"apt-get install chromium failed: {proc.stderr.strip()[-400:]}"


# apt-get waits this long for a dpkg lock another apt-get (a system update, say) holds, instead of failing at once.
APT_LOCK_TIMEOUT = 600


@contextmanager
def _install_lock():
    """A file lock held while this process installs, so parallel test workers do not race for dpkg's lock."""
    import fcntl

    with open(Path(tempfile.gettempdir()) / "benefits-tests-chromium-install.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _apt_install() -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", f"DPkg::Lock::Timeout={APT_LOCK_TIMEOUT}"]
    for cmd in (
        ["apt-get", *wait, "install", "-y", "--no-install-recommends", "chromium"],
        ["apt-get", *wait, "update"],
        ["apt-get", *wait, "install", "-y", "--no-install-recommends", "chromium"],
    ):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if "install" in cmd and proc.returncode == 0:
            break
    return proc


@dataclass
class PageResult:
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return self.console_errors + self.exceptions + self.log_errors


class Chromium:
    """One headless browser with one page; use as a context manager."""

    def __init__(self, binary: str, width: int = 1280, height: int = 900, timeout: float = 40.0):
        self.binary = binary
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="report-chromium-")
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.ws = None
        self._id = 0
        self._events: list[dict] = []

    def __enter__(self) -> Chromium:
        from websockets.sync.client import connect

        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"chromium exited ({self.proc.returncode}): {self.proc.stderr.read().decode()[-800:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:  # loopback only
            targets = json.loads(r.read())
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=self.timeout)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.ws is not None:
                try:
                    self.send("Browser.close", wait=False)
                except Exception:  # noqa: BLE001  the browser may already be gone
                    pass
                self.ws.close()
        finally:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            if self.proc.stderr:
                self.proc.stderr.close()
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol ------------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, wait: bool = True) -> dict:
        self._id += 1
        msg_id = self._id
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        if not wait:
            return {}
        deadline = time.monotonic() + self.timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self._events.append(msg)

    def _drain(self, until: str | None = None, seconds: float = 0.3) -> None:
        deadline = time.monotonic() + (self.timeout if until else seconds)
        while time.monotonic() < deadline:
            try:
                msg = json.loads(self.ws.recv(timeout=max(0.05, deadline - time.monotonic())))
            except TimeoutError:
                break
            if "method" in msg:
                self._events.append(msg)
                if until and msg["method"] == until:
                    return
        if until:
            raise TimeoutError(f"no {until} within {self.timeout} s")

    # -- what the tests use --------------------------------------------------------------
    def open(self, url: str) -> PageResult:
        self._events.clear()
        self.send("Page.navigate", {"url": url})
        self._drain(until="Page.loadEventFired")
        self._drain(seconds=0.5)  # late console messages
        result = PageResult()
        for e in self._events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                result.console_errors.append(
                    " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                )
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                result.exceptions.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                entry = p["entry"]
                result.log_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
            elif m == "Network.requestWillBeSent":
                result.requests.append(p.get("request", {}).get("url", ""))
        return result

    def evaluate(self, expression: str):
        out = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in out:
            raise RuntimeError(f"evaluate failed: {out['exceptionDetails']}")
        return out.get("result", {}).get("value")

    def screenshot(self, path: Path, full_page: bool = True, clip: dict | None = None) -> Path:
        params: dict = {"format": "png", "captureBeyondViewport": full_page}
        if clip:
            params["clip"] = {**clip, "scale": clip.get("scale", 1)}
        elif full_page:
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": min(size[1], 16000), "scale": 1}
        data = self.send("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def print_pdf(self, path: Path) -> Path:
        data = self.send("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True})["data"]
        path.write_bytes(base64.b64decode(data))
        return path
