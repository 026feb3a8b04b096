"""`benefits signals list|accept|reject`: triage the unplanned-change scan's signals."""

from __future__ import annotations

import getpass
from enum import Enum
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pipeline.cli import app
from pipeline.cli._console import console, error, setup_logging
from pipeline.cli.run import WarehouseOption

signals_app = typer.Typer(help="Triage the signals of the unplanned-change scan.", no_args_is_help=True)
app.add_typer(signals_app, name="signals")


class As(str, Enum):
    benefit = "benefit"
    disbenefit = "disbenefit"


class Reason(str, Enum):
    data_artefact = "data_artefact"
    known_cause = "known_cause"
    seasonal = "seasonal"
    other = "other"


NoteOption = Annotated[str, typer.Option("--note", help="why, in a few words (kept with the decision)")]
ByOption = Annotated[str | None, typer.Option("--by", help="who decides (default: the login name)")]


def _open(warehouse: str | None):
    from pipeline.cli._preflight import open_warehouse

    _, wh = open_warehouse(warehouse)
    return wh


@signals_app.command("list")
def list_command(
    site: Annotated[str | None, typer.Option("--site", help="only this site (ODS code)")] = None,
    state: Annotated[str | None, typer.Option("--state", help="new, accepted_benefit, accepted_disbenefit or rejected")] = None,
    warehouse: WarehouseOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """The signals found by the scan and what was decided about them."""
    setup_logging(verbose)
    from benefits.triage import STATES
    from pipeline.marts import triage

    if state is not None and state not in STATES:
        error(f"--state: expected one of {', '.join(STATES)}, got {state!r}")
        raise typer.Exit(2)
    rows = triage.read(_open(warehouse), site.upper() if site else None)
    if state:
        rows = rows[rows["state"] == state]
    if rows.empty:
        console.print("no signals" + (f" at {escape(site.upper())}" if site else "") + (f" in state {state}" if state else "")
                      + "; `benefits run` scans for them", highlight=False)  # fmt: skip
        return
    table = Table(box=None, pad_edge=False)
    for c in ("id", "site", "measure", "from", "change", "state", "found now", "decision"):
        table.add_column(c)
    for r in rows.to_dict("records"):
        table.add_row(r["signal_id"], r["site_code"], r["measure_code"], f"{r['first_month']:%Y-%m}", _change(r),
                      r["state"], "yes" if r.get("detected") else "no", escape(_decision(r)))  # fmt: skip
    console.print(table, highlight=False)


def _change(r: dict) -> str:
    """The signal's size: in percent where the baseline allows one (not NaN), else absolute."""
    pct = r.get("size_pct")
    return f"{pct:+.0f}%" if isinstance(pct, float) and pct == pct else f"{r.get('size_abs'):+.3g}"


def _decision(r: dict) -> str:
    """What was decided and by whom; a reopened signal says what it was."""
    if r["state"] == "new" and r.get("previous_decision"):
        return f"reopened; was {r['previous_decision']}"
    decided = r.get("note") or ""
    if r.get("reason"):
        decided = f"{r['reason']}: {decided}"
    if r.get("decided_by"):
        decided += f" ({r['decided_by']})"
    return decided


def _decide(warehouse, signal: str, state: str, note: str, by: str | None, reason: str | None = None) -> dict:
    from benefits.triage import TriageError
    from pipeline.marts import triage

    try:
        return triage.record_decision(_open(warehouse), signal, state, note, by or getpass.getuser(), reason)
    except TriageError as e:
        error(e, "cannot record")
        raise typer.Exit(1) from None


@signals_app.command("accept")
def accept_command(
    signal: Annotated[str, typer.Argument(help="signal id, from `benefits signals list`")],
    as_: Annotated[As, typer.Option("--as", help="what it is")],
    note: NoteOption,
    by: ByOption = None,
    warehouse: WarehouseOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Accept a signal as an unanticipated benefit or a disbenefit: it is tracked like any other
    benefit from the next run (the entry below; copy it into the register to value it)."""
    setup_logging(verbose)
    import yaml

    from benefits.triage import signal_benefit

    row = _decide(warehouse, signal, f"accepted_{as_.value}", note, by)
    entry = signal_benefit(row).model_dump(mode="json", exclude_none=True)
    console.print(f"{signal}: accepted as {'an unanticipated benefit' if as_ is As.benefit else 'a disbenefit'}; "
                  f"tracked as benefit {signal} from the next `benefits run`. Its register entry (copy it into the "
                  f"site's register to add a valuation, owner or target; the register's copy then wins):", highlight=False)  # fmt: skip
    console.print(escape(yaml.safe_dump([entry], sort_keys=False)), highlight=False, soft_wrap=True)


@signals_app.command("reject")
def reject_command(
    signal: Annotated[str, typer.Argument(help="signal id, from `benefits signals list`")],
    reason: Annotated[Reason, typer.Option("--reason", help="why it is not a benefit or disbenefit")],
    note: NoteOption,
    by: ByOption = None,
    warehouse: WarehouseOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Reject a signal. It stays rejected on later runs unless it changes materially (its size
    moves by more than half, or its first month moves); then it reopens as new."""
    setup_logging(verbose)
    _decide(warehouse, signal, "rejected", note, by, reason.value)
    console.print(f"{signal}: rejected ({reason.value})", highlight=False)
