"""`benefits sql`: a SQL shell on the configured warehouse, or one query with `-c`.

The shell is the engine's own where it is installed (`psql`; the `duckdb` CLI), else a small
line-by-line prompt. Read-only unless `--write`: analysts explore, the pipeline writes."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli._console import console, error

_PROMPT = "benefits> "


def _rows_text(columns: list[str], rows: list[tuple]) -> str:
    import pandas as pd

    if not columns:
        return "ok"
    frame = pd.DataFrame(rows, columns=columns)
    with pd.option_context("display.max_rows", 200, "display.max_columns", None, "display.width", 200):
        text = frame.to_string(index=False) if len(frame) else "  ".join(columns)
    return f"{text}\n({len(frame):,} row{'s' if len(frame) != 1 else ''})"


class _DuckDB:
    def __init__(self, path: str, write: bool):
        import duckdb

        self.path, self.write = path, write
        self.con = duckdb.connect(path, read_only=not write)

    def run(self, sql: str) -> str:
        cur = self.con.execute(sql)
        if cur.description is None:
            return "ok"
        return _rows_text([d[0] for d in cur.description], cur.fetchall())

    def native_shell(self) -> list[str] | None:
        exe = shutil.which("duckdb")
        return [exe, *([] if self.write else ["-readonly"]), self.path] if exe else None


class _Postgres:
    def __init__(self, url, write: bool):
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        self.url = url
        self.engine = sa.create_engine(url.set(drivername="postgresql+psycopg"), poolclass=NullPool)
        self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if not write:
            self.conn.exec_driver_sql("set default_transaction_read_only = on")
        self.write = write

    def run(self, sql: str) -> str:
        result = self.conn.exec_driver_sql(sql)
        if not result.returns_rows:
            return "ok"
        return _rows_text(list(result.keys()), [tuple(r) for r in result.fetchall()])

    def native_shell(self) -> list[str] | None:
        exe = shutil.which("psql")
        if not exe:
            return None
        # the password goes through the environment, never the command line other users can see
        if self.url.password:
            os.environ["PGPASSWORD"] = str(self.url.password)
        if not self.write:
            os.environ["PGOPTIONS"] = (os.environ.get("PGOPTIONS", "") + " -c default_transaction_read_only=on").strip()
        conninfo = self.url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
        return [exe, conninfo]


def _open(url: str, write: bool):
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "duckdb":
        return _DuckDB(parsed.database, write)
    return _Postgres(parsed, write)


def _repl(db) -> bool:
    """One statement per `;`-terminated input, as in psql; Ctrl-D leaves. False when SQL piped
    in had an error, so a script's caller sees it."""
    try:
        import readline  # noqa: F401  line editing and history for input()
    except ImportError:
        pass
    tty = sys.stdin.isatty()  # SQL piped in gets results only, no prompts
    if tty:
        console.print(f"{'read-write' if db.write else 'read-only'}; end statements with ;  Ctrl-D to leave", highlight=False)
    buffer: list[str] = []
    ok = True
    while True:
        try:
            line = input((_PROMPT if not buffer else "   ...> ") if tty else "")
        except EOFError:
            if tty:
                print()
            return ok or tty
        except KeyboardInterrupt:
            print()
            buffer.clear()
            continue
        buffer.append(line)
        if not line.rstrip().endswith(";"):
            continue
        sql, buffer = "\n".join(buffer), []
        try:
            print(db.run(sql))
        except Exception as e:  # noqa: BLE001  a bad query is reported and the shell goes on
            ok = False
            error(" ".join(str(getattr(e, "orig", None) or e).split()) or type(e).__name__, "error")


@app.command("sql")
def sql_command(
    command: Annotated[str | None, typer.Option("--command", "-c", help="run this SQL, print the result and exit")] = None,
    warehouse: Annotated[
        str | None, typer.Option("--warehouse", help="SQLAlchemy URL; default BENEFITS_WAREHOUSE_URL or embedded DuckDB")
    ] = None,
    write: Annotated[bool, typer.Option("--write", help="allow changes (default: read-only)")] = False,
):
    """Open a SQL shell on the warehouse (psql or the duckdb CLI when installed), or run one query with -c."""
    from pipeline.cli._preflight import duckdb_problem, exit_unless_warehouse
    from pipeline.config.settings import load_settings

    url = warehouse or load_settings().warehouse_url
    name = "--warehouse" if warehouse else "BENEFITS_WAREHOUSE_URL"
    exit_unless_warehouse(url, name)
    try:
        db = _open(url, write)
    except Exception as e:  # noqa: BLE001  a bad URL, a refused connection, a locked file: one line
        from pipeline.warehouse.core import redact_url

        error(f"{name} {redact_url(url)}: {duckdb_problem(getattr(e, 'orig', None) or e)}", "cannot open the warehouse")
        raise typer.Exit(2) from None
    if command is not None:
        try:
            print(db.run(command))
        except Exception as e:  # noqa: BLE001  the user's SQL: its error, without a traceback
            error(" ".join(str(getattr(e, "orig", None) or e).split()), "error")
            raise typer.Exit(1) from None
        return
    native = db.native_shell() if sys.stdin.isatty() else None
    if native:
        if isinstance(db, _DuckDB):
            db.con.close()  # the CLI takes the file's lock itself
        os.execv(native[0], native)
    if not _repl(db):
        raise typer.Exit(1)

