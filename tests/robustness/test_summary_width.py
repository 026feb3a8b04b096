"""The run summary keeps every figure whole in an 80-column terminal (issue 15 #16)."""

from __future__ import annotations

import io

from rich.console import Console

OUTCOMES = [
    dict(site_code="RF4", source_name="incidents_datix", dataset="patient_safety_incidents", status="up_to_date",
         rows_in=1_234_567, rows_loaded=1_234_000, rows_quarantined=567, seconds=123.4),
    dict(site_code="RRK", source_name="epma", dataset="medication_administrations", status="held",
         rows_in=12_234_567, rows_loaded=12_234_000, rows_quarantined=1_567, seconds=3.4),
]  # fmt: skip


def _render(width: int, monkeypatch) -> str:
    from pipeline.cli import _console
    from pipeline.cli.run import _summary_table

    monkeypatch.setattr(_console.console, "width", width)
    out = Console(width=width, file=io.StringIO())
    out.print(_summary_table({"outcomes": OUTCOMES}))
    return out.file.getvalue()


def test_the_summary_keeps_every_figure_whole_at_80_columns(monkeypatch):
    text = _render(80, monkeypatch)
    assert "…" not in text, text
    for o in OUTCOMES:
        for value in (o["site_code"], o["source_name"], o["status"], f"{o['rows_in']:,}", f"{o['rows_loaded']:,}",
                      f"{o['rows_quarantined']:,}", f"{o['seconds']:.1f}"):  # fmt: skip
            assert value in text, (value, text)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_a_wide_terminal_also_shows_the_dataset(monkeypatch):
    text = _render(160, monkeypatch)
    assert "medication_administrations" in text and "…" not in text
