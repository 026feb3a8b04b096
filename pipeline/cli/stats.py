"""`benefits spc` and `benefits its`: the benefits engine's statistics on any CSV, for analysts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app
from pipeline.cli._console import console, err, setup_logging

Input = Annotated[Path, typer.Option("--input", help="CSV file", exists=True, dir_okay=False, readable=True)]
XCol = Annotated[str, typer.Option("--x", help="column with the time axis: dates (YYYY-MM[-DD]) or numbers")]
YCol = Annotated[str, typer.Option("--y", help="column with the values (counts for count families)")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v")]


def _fail(message: str) -> typer.Exit:
    err.print(message, highlight=False, markup=False)
    return typer.Exit(2)


def _read(path: Path, x: str, y: str, extra: tuple[str, ...] = ()):
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except Exception as e:  # noqa: BLE001  (any parse error is the user's file)
        raise _fail(f"{path}: cannot read as CSV: {e}") from None
    for col, opt in ((x, "--x"), (y, "--y"), *((c, "--offset") for c in extra)):
        if col not in frame.columns:
            raise _fail(f"{path}: {opt} {col!r} is not a column; columns are: {', '.join(map(str, frame.columns))}")
    frame[y] = pd.to_numeric(frame[y], errors="coerce")
    if pd.api.types.is_numeric_dtype(frame[x]):
        return frame, False
    parsed = pd.to_datetime(frame[x], errors="coerce", format="mixed")
    bad = frame.loc[parsed.isna() & frame[x].notna(), x]
    if len(bad):
        raise _fail(f"{path}: {x}: {bad.iloc[0]!r} (row {bad.index[0] + 2}) is neither a number nor a date")
    frame[x] = parsed
    return frame, True


def _writable(path: Path, option: str) -> None:
    """Checked before the work, not after it: a folder given as the output ended in a traceback."""
    from pipeline.cli._preflight import PreflightError, check_output_file

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        check_output_file(path, option)
    except PreflightError as e:
        raise _fail(str(e)) from None
    except OSError as e:
        raise _fail(f"{option} {path}: cannot write ({e.strerror or e})") from None


def _as_x(value: str, is_date: bool, option: str):
    import pandas as pd

    if is_date:
        try:
            return pd.Timestamp(value)
        except ValueError:
            raise _fail(f"{option}: {value!r} is not a date (YYYY-MM or YYYY-MM-DD)") from None
    try:
        return float(value)
    except ValueError:
        raise _fail(f"{option}: {value!r} is not a number like the x column") from None


def _dates_to_text(frame, cols):
    import pandas as pd

    for c in cols:
        if c in frame.columns and pd.api.types.is_datetime64_any_dtype(frame[c]):
            frame[c] = frame[c].dt.strftime("%Y-%m-%d")
    return frame


@app.command("spc")
def spc_command(
    input: Input,
    x: XCol,
    y: YCol,
    output: Annotated[Path, typer.Option("--output", help="CSV with one row per point")],
    improvement: Annotated[str, typer.Option(help="increase, decrease or neutral: which way is better")] = "increase",
    target: Annotated[float | None, typer.Option(help="target value, for the assurance icon")] = None,
    rebase: Annotated[list[str] | None, typer.Option("--rebase", help="start a new group of limits here; repeatable")] = None,
    fix_after: Annotated[int | None, typer.Option("--fix-after", help="compute each group's limits from its first N points")] = None,
    no_screen_outliers: Annotated[
        bool, typer.Option("--no-screen-outliers", help="keep moving ranges above 3.267 x their mean")
    ] = False,
    summary: Annotated[Path | None, typer.Option("--summary", help="also write variation, assurance and groups as JSON")] = None,
    verbose: Verbose = False,
):
    """Making Data Count XmR chart (NHSRplotthedots rules): limits, special causes, variation, assurance."""
    setup_logging(verbose)
    from benefits.spc import direction_sign, spc

    try:
        direction_sign(improvement)
    except ValueError as e:
        raise _fail(f"--improvement: {e}") from None
    _writable(output, "--output")
    if summary:
        _writable(summary, "--summary")
    frame, is_date = _read(input, x, y)
    rebase_at = [_as_x(r, is_date, "--rebase") for r in (rebase or [])]
    try:
        result = spc(
            frame, x, y, improvement=improvement, target=target, rebase=rebase_at, fix_after=fix_after,
            screen_outliers=not no_screen_outliers,
        )  # fmt: skip
    except ValueError as e:
        raise _fail(f"{input}: {e}") from None
    points = _dates_to_text(result.points.copy(), ["x"])
    output.parent.mkdir(parents=True, exist_ok=True)
    points.to_csv(output, index=False)
    info = result.summary()
    if summary:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps(info, indent=2))
    console.print(
        f"{len(points)} points, {len(info['groups'])} group(s); variation: {info['variation']}; "
        f"assurance: {info['assurance'] or 'n/a'} -> {output}",
        highlight=False,
    )
    for w in result.warnings:
        err.print(f"warning: {w}", highlight=False, markup=False)


def _check_intervention(given: str, row: int, xs, x: str, path: Path, as_row: bool) -> None:
    """The change must have points on both sides; say so with the value the user gave, not the
    row number it became."""
    n = len(xs)

    def shown(i: int) -> str:
        v = xs.iloc[i]
        return f"{v:%Y-%m-%d}" if hasattr(v, "strftime") else f"{v:g}"

    if n < 2:
        raise _fail(f"{path}: {x}: {n} point(s); an interrupted time series needs points before and after --intervention")
    if as_row and not 0 < row < n:
        raise _fail(f"--intervention {given!r}: row numbers in {path} run from 0 to {n - 1}, and the change needs "
                    f"a row before it: give 1 to {n - 1}, or a date")
    if row <= 0:
        raise _fail(f"--intervention {given!r} is at or before the first {x} value ({shown(0)}) in {path}; "
                    "give the first point after the change, with points before it")
    if row >= n:
        raise _fail(f"--intervention {given!r} is after the last {x} value ({shown(n - 1)}) in {path}; "
                    "give the first point after the change")


@app.command("its")
def its_command(
    input: Input,
    x: XCol,
    y: YCol,
    intervention: Annotated[
        str,
        typer.Option(
            help="first point after the change: a date when x holds dates, an x value when x is numeric, "
            "or a 0-based row number when x holds dates and an integer is given"
        ),
    ],
    output: Annotated[Path, typer.Option("--output", help="JSON with coefficients, effects and the counterfactual")],
    offset: Annotated[
        str | None, typer.Option(help="column with the exposure (log-link families) or the number of trials (binomial)")
    ] = None,
    family: Annotated[str, typer.Option(help="poisson, quasipoisson, negbin, binomial, quasibinomial or gaussian")] = "quasipoisson",
    seasonality: Annotated[int, typer.Option(help="Fourier sine/cosine pairs with period 12", min=0, max=6)] = 0,
    slope_change: Annotated[bool, typer.Option("--slope-change", help="also fit a change in slope")] = False,
    ramp: Annotated[int, typer.Option(help="points after the change to leave out of the fit (ramp-in)", min=0)] = 0,
    verbose: Verbose = False,
):
    """Interrupted time series (segmented regression): level change and slope change with 95% CIs."""
    setup_logging(verbose)
    from benefits.its import FAMILIES, fit_its

    if family not in FAMILIES:
        raise _fail(f"--family: {family!r} is not one of {', '.join(FAMILIES)}")
    _writable(output, "--output")
    frame, is_date = _read(input, x, y, (offset,) if offset else ())
    frame = frame.sort_values(x, kind="stable").reset_index(drop=True)
    xs = frame[x]
    row = _intervention_row(intervention, xs, x, input, is_date)
    t, moy = _time_axis(xs, is_date)
    try:
        result = fit_its(
            frame[y].to_numpy(dtype=float), intervention=row, t=t, x=xs,
            offset=frame[offset].to_numpy(dtype=float) if offset else None, family=family,
            seasonality=seasonality, month_of_year=moy, slope_change=slope_change, ramp=ramp,
        )  # fmt: skip
    except ValueError as e:
        # the engine counts in rows; the user gave a date or value, so quote that
        where = f"--intervention {intervention!r}: " if "intervention" in str(e) else ""
        raise _fail(f"{input}: {where}{e}") from None
    out = {
        "input": str(input),
        "x": x,
        "y": y,
        "offset": offset,
        "intervention": {"row": row, "x": result.as_dict()["counterfactual"][row]["x"]},
        "seasonality": seasonality,
        "ramp": ramp,
        **result.as_dict(),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(out, indent=2))
    console.print(f"{_effects(result)}; dispersion {result.dispersion:.4g} -> {output}", highlight=False)
    for w in result.warnings:
        err.print(f"warning: {w}", highlight=False, markup=False)


def _intervention_row(intervention: str, xs, x: str, path: Path, is_date: bool) -> int:
    """The row of the first point after the change: an integer given against dates is a row number,
    anything else an x value (the first row at or after it)."""
    import numpy as np

    as_row = is_date and intervention.strip().lstrip("-").isdigit()
    if as_row:
        row = int(intervention)
    else:
        at = _as_x(intervention, is_date, "--intervention")
        hits = np.flatnonzero((xs >= at).to_numpy())
        row = int(hits[0]) if len(hits) else len(xs)
    _check_intervention(intervention, row, xs, x, path, as_row=as_row)
    return row


def _time_axis(xs, is_date: bool) -> tuple:
    """(t, month of year): dates count months from the first (with their month for seasonality), numbers are t."""
    if is_date:
        t = (xs.dt.year * 12 + xs.dt.month).to_numpy(dtype=float)
        return t - t[0], xs.dt.month.to_numpy(dtype=float)
    return xs.to_numpy(dtype=float), None


def _effects(result) -> str:
    lc = result.level_change
    text = f"level change {lc.estimate:.4g} (95% CI {lc.ci_low:.4g} to {lc.ci_high:.4g}, {lc.scale})"
    if result.slope_change:
        sc = result.slope_change
        text += f"; slope change {sc.estimate:.4g} ({sc.ci_low:.4g} to {sc.ci_high:.4g})"
    return text
