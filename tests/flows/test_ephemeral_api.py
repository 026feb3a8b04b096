"""`benefits run` on Prefect's temporary local API: the server launched early is the one Prefect
uses (never a second), it never outlives the command, a configured server means none is
launched; the source-system tag is set only for a configured server; the command's process
freezes its heap, a test calling the app does not."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
linux_only = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads processes from /proc (Linux)")


def _env(prefect_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "PREFECT_PROFILE"))}
    # A fresh Prefect home is migrated on the server's first start: give it time on a slow machine.
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180", **extra)
    return env


def _servers_for(prefect_home: Path) -> list[int]:
    """Pids of Prefect API servers (uvicorn) started with this PREFECT_HOME, still running."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"prefect.server.api.server:create_app" in cmdline and f"PREFECT_HOME={prefect_home}".encode() in environ:
            pids.append(int(proc.name))
    return pids


def _run_script(code: str, env: dict[str, str], cwd: Path = REPO) -> dict:
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@linux_only
def test_the_early_server_is_the_one_prefect_uses_and_it_stops_with_the_process(tmp_path):
    home = tmp_path / "prefect"
    result = _run_script(
        """
        import json, os, sys
        from pathlib import Path
        from flows.ephemeral_api import start_ephemeral_api

        adopt = start_ephemeral_api(Path(os.environ["SERVER_LOG"]))
        launched = [int(p) for p in Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()]
        adopt()
        from prefect import flow
        from prefect.settings import get_current_settings
        from flows.common import api_url

        @flow
        def hello():
            return 1

        assert hello() == 1
        children = [int(p) for p in Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()]
        cmdline = Path(f"/proc/{launched[0]}/cmdline").read_bytes().decode().split("\\0")
        print(json.dumps({"launched": launched, "children": children,
                          "port": int(cmdline[cmdline.index("--port") + 1]),
                          "prefects": str(get_current_settings().api.url),
                          "server_module": "prefect.server.api.server" in sys.modules,
                          "configured": api_url()}))
        """,
        _env(home, SERVER_LOG=str(tmp_path / "logs" / "prefect-api.log")),
    )
    assert len(result["launched"]) == 1
    assert (tmp_path / "logs" / "prefect-api.log").is_file()  # the server's output, off the terminal
    # Prefect ran the flow on the server launched early, and started no other; it never imported
    # its own server's module (2-2.5 s of the command's start-up), and the server counts as no
    # configured one (no source-system tags, in-process national run).
    assert result["prefects"] == f"http://127.0.0.1:{result['port']}/api"
    assert result["children"] == result["launched"]
    assert result["server_module"] is False and result["configured"] is None
    assert _servers_for(home) == []  # stopped when the process ended


@pytest.mark.slow
@linux_only
def test_a_command_that_fails_early_leaves_no_server_behind(tmp_path):
    home, sites = tmp_path / "prefect", tmp_path / "sites"
    sites.mkdir()
    (sites / "RXX.yaml").write_text("ods_code: [\n")
    out = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--sites", str(sites)],
        cwd=tmp_path,
        env=_env(home, BENEFITS_HOME=str(tmp_path / "benefits")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2 and "RXX.yaml" in out.stderr
    assert _servers_for(home) == []


@linux_only
@pytest.mark.parametrize("where", ["environment", "profile", "prefect.toml"])
def test_a_configured_server_means_nothing_is_launched(tmp_path, where):
    home, workdir = tmp_path / "prefect", tmp_path / "work"
    home.mkdir()
    workdir.mkdir()
    extra = {}
    if where == "environment":
        extra["PREFECT_API_URL"] = "http://127.0.0.1:9/api"
    elif where == "profile":
        (home / "profiles.toml").write_text(
            'active = "team"\n\n[profiles.team]\nPREFECT_API_URL = "http://127.0.0.1:9/api"\n'
        )
    else:
        (workdir / "prefect.toml").write_text('[api]\nurl = "http://127.0.0.1:9/api"\n')
    result = _run_script(
        """
        import json, os
        from pathlib import Path
        from flows.ephemeral_api import start_ephemeral_api

        adopt = start_ephemeral_api(Path(os.environ["SERVER_LOG"]))
        launched = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
        adopt()
        children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
        print(json.dumps({"launched": launched, "children": children}))
        """,
        _env(home, SERVER_LOG=str(tmp_path / "prefect-api.log"), **extra),
        cwd=workdir,
    )
    assert result == {"launched": [], "children": []}


def test_source_system_tag_only_with_a_configured_server():
    from prefect.context import TagsContext
    from prefect.settings import temporary_settings

    from flows.common import source_system_tag

    with temporary_settings(updates={"api.url": None}):
        with source_system_tag("fhir"):
            assert "source-system:fhir" not in TagsContext.get().current_tags
    with temporary_settings(updates={"api.url": "http://127.0.0.1:9/api"}):
        with source_system_tag("fhir"):
            assert "source-system:fhir" in TagsContext.get().current_tags


def test_only_the_commands_own_process_freezes_its_heap(monkeypatch):
    import pipeline.cli as cli

    before = gc.get_freeze_count()
    cli.freeze_heap()  # a test calling the app: nothing frozen
    assert gc.get_freeze_count() == before
    monkeypatch.setattr(cli, "_owns_process", True)
    try:
        cli.freeze_heap()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
