"""Checks a command makes before Prefect starts: each fails in seconds with one line naming what
to fix. Without them a bad warehouse URL or folder surfaced minutes later, deep inside a flow,
as hundreds of lines of tracebacks (issue 15 #5, #6)."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Long enough for a slow VPN, short enough that a wrong host is reported while the user waits.
CONNECT_TIMEOUT_S = 5
LOCK_POLL_S = 1.0


class PreflightError(Exception):
    """Something in the environment the command cannot work with; the message names it."""


def _one_line(text: object) -> str:
    lines = [" ".join(line.split()) for line in str(text).splitlines()]
    return "; ".join(line for line in lines if line)


def _writable_folder(path: Path, name: str, sep: str = "=") -> None:
    """`path` is (or can be made) a folder this process can write to."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise PreflightError(f"{name}{sep}{path}: not a writable folder ({e.strerror or e})") from None


def check_output_folder(path: Path, option: str) -> None:
    _writable_folder(path, option, sep=" ")


def check_home(home: Path) -> None:
    _writable_folder(home, "BENEFITS_HOME")


def check_prefect_home() -> None:
    """Prefect creates PREFECT_HOME itself but not its parents, and says so in a traceback."""
    home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    if home.is_dir():
        _writable_folder(home, "PREFECT_HOME")
    elif home.exists():
        raise PreflightError(f"PREFECT_HOME={home}: not a folder")
    elif not home.parent.is_dir():
        raise PreflightError(f"PREFECT_HOME={home}: its parent folder {home.parent} does not exist")
    else:
        _writable_folder(home.parent, "PREFECT_HOME's parent folder")


def check_output_file(path: Path, option: str) -> None:
    """An output file can be written, checked before the run rather than after it."""
    if path.is_dir():
        raise PreflightError(f"{option} {path}: is a folder, not a file")
    existed = path.exists()
    try:
        with open(path, "a"):
            pass
    except OSError as e:
        raise PreflightError(f"{option} {path}: cannot write ({e.strerror or e})") from None
    if not existed:
        path.unlink(missing_ok=True)


def check_warehouse(url: str, name: str, on_wait: Callable[[str], None] | None = None) -> None:
    """The URL parses, names a supported engine, and the warehouse can be opened now. With
    `on_wait`, a DuckDB file another process holds is waited for (`on_wait` says so, once)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from pipeline.warehouse.core import redact_url

    shown = f"{name} {redact_url(url)}"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as e:
        raise PreflightError(
            f"{name}: not a database URL ({_one_line(e)}); expected duckdb:///path/file.duckdb or "
            "postgresql+psycopg://user@host:port/database"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "duckdb":
        _check_duckdb(parsed.database, shown, on_wait)
    elif backend == "postgresql":
        _check_postgresql(parsed, shown)
    else:
        raise PreflightError(f"{shown}: unsupported engine {backend!r}; use duckdb:/// or postgresql+psycopg://")


# DuckDB names a file's catalogue after the file: `national.duckdb` is catalogue `national`, and
# `national.fact_benefit` then fails as ambiguous ("catalog or schema") deep inside the build.
_SCHEMAS = ("meta", "quarantine", "staging", "measures", "national", "collected", "main")


def _check_duckdb(database: str | None, shown: str, on_wait: Callable[[str], None] | None) -> None:
    if not database or database == ":memory:":
        return
    path = Path(database).expanduser()
    stem = path.name.split(".", 1)[0].lower()
    if stem in _SCHEMAS or stem.startswith("local_"):
        raise PreflightError(f"{shown}: a DuckDB file may not be named after a warehouse schema ({stem!r}); "
                             f"rename it, e.g. {path.with_name('benefits_' + path.name).name}")  # fmt: skip
    if not path.exists():
        _writable_folder(path.parent, f"{shown}: folder", sep=" ")
        return
    import duckdb

    from pipeline.warehouse.duckdb_lock import holder

    waiting = False
    while True:
        try:
            duckdb.connect(str(path)).close()
            return
        except duckdb.Error as e:
            if "different configuration than existing connections" in str(e):
                return  # this process has it open already (a test calling the command in-process)
            held = holder(e)
            if on_wait is None or not held:
                raise PreflightError(f"{shown}: cannot open: {duckdb_problem(e)}") from None
            if not waiting:
                on_wait(f"{path} is in use by process {held[1]}; waiting for it to finish (Ctrl-C to stop)")
                waiting = True
        time.sleep(LOCK_POLL_S)


def duckdb_problem(error: Exception) -> str:
    """DuckDB's error in one line; a lock held elsewhere is said plainly, with the holder's PID."""
    from pipeline.warehouse.duckdb_lock import describe

    return describe(error)


def _check_postgresql(parsed, shown: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = sa.create_engine(parsed, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    except Exception as e:  # noqa: BLE001  a missing driver, a bad option: all say the same to the user
        raise PreflightError(f"{shown}: {_one_line(e)}") from None
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as e:
        reason = _one_line(e.orig).removeprefix("connection failed: ")
        raise PreflightError(f"{shown}: cannot connect: {reason}") from None
    finally:
        with contextlib.suppress(Exception):
            engine.dispose()


def missing_duckdb_file(url: str) -> Path | None:
    """The DuckDB file a read-only command would otherwise create empty (outside a project, or
    before the first run); None when it exists or the warehouse is not a DuckDB file."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001  the command's own connect reports a bad URL
        return None
    if parsed.get_backend_name() != "duckdb" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database).expanduser()
    return None if path.exists() else path


def require_warehouse(url: str) -> None:
    path = missing_duckdb_file(url)
    if path is not None:
        raise PreflightError(
            f"no warehouse at {path}: run `benefits run` first, or point BENEFITS_WAREHOUSE_URL "
            "(or --warehouse) at one"
        )


def exit_unless_warehouse(url: str, name: str = "BENEFITS_WAREHOUSE_URL", must_exist: bool = True) -> None:
    """Before a command other than `run` opens the warehouse: end in one line when it cannot be
    reached (not 150 lines of driver traceback) and, for commands that only read (`must_exist`),
    when there is none yet, rather than create an empty one."""
    import typer

    from pipeline.cli._console import error

    try:
        if must_exist:
            require_warehouse(url)
        check_warehouse(url, name)
    except PreflightError as e:
        error(e, "cannot open the warehouse")
        raise typer.Exit(2) from None


def open_warehouse(option_url: str | None):
    """(settings, warehouse) for a command with a `--warehouse` option, after exit_unless_warehouse:
    the option, when given, overrides BENEFITS_WAREHOUSE_URL and is the name an error gives."""
    import os

    if option_url:
        os.environ["BENEFITS_WAREHOUSE_URL"] = option_url
    from pipeline.config.settings import load_settings
    from pipeline.runtime import warehouse

    settings = load_settings()
    exit_unless_warehouse(settings.warehouse_url, "--warehouse" if option_url else "BENEFITS_WAREHOUSE_URL")
    return settings, warehouse(settings)


def check_duckdb_memory(settings) -> None:
    """BENEFITS_DUCKDB_MEMORY is a size DuckDB accepts; asked of DuckDB itself, in memory."""
    if not settings.warehouse_url.startswith("duckdb"):
        return
    import duckdb

    try:
        if settings.duckdb_memory.strip().startswith("-"):
            # DuckDB reads a negative limit as "no limit" and goes on silently
            raise duckdb.InvalidInputException("a negative size means no limit at all")
        duckdb.connect(":memory:", config={"memory_limit": settings.duckdb_memory}).close()
    except duckdb.Error as e:
        raise PreflightError(
            f"BENEFITS_DUCKDB_MEMORY={settings.duckdb_memory!r}: not a memory size DuckDB accepts "
            f"(e.g. 1GB, 512MB): {duckdb_problem(e)}"
        ) from None
