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


def test_a_log_of_the_run_shows_each_source_once(tmp_path):
    """`benefits run 2>&1` (a CI job's log): the progress line of each source is not said again by
    the summary table under it; stdout read alone keeps the table (the width tests above)."""
    import subprocess
    import sys

    from dataset_contracts.contracts import get_contract
    from tests.expectations.fixtures import MAPPINGS, clean_rows, fixture_name, write_csv
    from tests.expectations.test_release import MED, SPELLS, site_yaml
    from tests.robustness.cli import ROOT, clean_env

    drop, sites = tmp_path / "drop", tmp_path / "sites"
    write_csv(drop / MED / fixture_name(MED), get_contract(MED), clean_rows(MED, n=30))
    write_csv(drop / SPELLS / fixture_name(SPELLS), get_contract(SPELLS), clean_rows(SPELLS, n=5))
    site_yaml(sites, drop, MAPPINGS)
    log = subprocess.run([sys.executable, "-m", "pipeline", "run", "--sites", str(sites)], env=clean_env(tmp_path),
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300).stdout  # fmt: skip
    assert "Traceback" not in log, log
    lines = log.splitlines()
    for source, dataset, rows in (("epma", MED, 30), ("pas", SPELLS, 5)):
        mentions = [line for line in lines if f"TST/{source}" in line or (source in line.split() and "TST" in line)]
        assert mentions == [f"TST/{source} ({dataset}): loaded, {rows} rows, {rows} loaded, 0 quarantined, "
                            f"{mentions[0].rsplit(', ', 1)[-1]}"], log  # fmt: skip
    assert "quarantined │" not in log, log  # no per-source table under the lines
    assert "Run summary: 2 source(s) (2 loaded); 35 rows in, 35 loaded, 0 quarantined" in lines, log
