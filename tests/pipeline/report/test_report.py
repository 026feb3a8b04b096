"""The HTML report built from a real warehouse (demo trusts at test scale): self-contained, cards that
show exactly what `fact_benefit` holds, SPC charts with every point of `fact_benefit_spc`, and
suppressed national figures shown as suppressed, never as zero."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.report import build, check_report
from pipeline.report.format import month_label
from tests.pipeline.report.conftest import TRUSTS
from tests.pipeline.report.dom import Node, parse

pytestmark = pytest.mark.slow


# -- reading a printed figure back -------------------------------------------------------------
def shown_value(text: str, fmt: str) -> tuple[float, float]:
    """The number a reader sees, and half a unit of its last printed digit (the rounding allowed)."""
    t = text.replace("−", "-").replace(",", "").replace("£", "").strip()
    if fmt == "p" and t.startswith("p <"):
        return 0.0, 0.001
    m = re.search(r"-?\d+(?:\.(\d+))?", t)
    assert m, f"no number in {text!r} ({fmt})"
    decimals = len(m.group(1) or "")
    scale = 0.01 if fmt in ("measure:proportion", "delta:proportion") else 1.0
    return float(m.group(0)) * scale, 0.5 * 10 ** (-decimals) * scale * 1.0001 + 1e-12


def fact_latest(wh, schema: str) -> dict[str, dict]:
    frame = wh.query(f"select * from {schema}.fact_benefit where is_latest")
    return {r["benefit_id"]: r for r in frame.to_dict("records")}


def _na(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT


# -- self-contained ----------------------------------------------------------------------------
def test_report_passes_link_and_asset_check(report_dir: Path):
    assert (report_dir / "index.html").is_file()
    assert (report_dir / "national.html").is_file()
    for code in TRUSTS:
        assert (report_dir / "sites" / f"{code}.html").is_file()
    assert check_report(report_dir) == []
    # Every page carries its styles and script; nothing is referenced outside the folder.
    for page in report_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<style>" in text and "<script>" in text
        assert "http://" not in text and "https://" not in text, page


def test_link_check_catches_what_it_should(report_dir: Path, tmp_path: Path):
    bad = tmp_path / "bad"
    shutil.copytree(report_dir, bad)
    (bad / "sites" / "RRK.html").unlink()
    page = bad / "sites" / "RF4.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace(
            "</main>",
            '<a href="#no-such-id">x</a><img src="chart.png"><a href="../index.html#nowhere">y</a>'
            '<link rel="stylesheet" href="https://cdn.example.org/x.css">'
            '<div style="background:url(//example.org/a.png)"></div></main>',
        ),
        encoding="utf-8",
    )
    problems = "\n".join(check_report(bad))
    assert "sites/RF4.html: <a href> missing file: ../sites/RRK.html" in problems
    assert "index.html: <a href> missing file: sites/RRK.html" in problems
    assert "#no-such-id names no element" in problems
    assert "missing file: chart.png" in problems
    assert "#nowhere names no element in index.html" in problems
    assert "https://cdn.example.org/x.css" in problems
    assert "//example.org/a.png" in problems


# -- the cards show what fact_benefit holds ----------------------------------------------------
REQUIRED = ("baseline_mean", "latest_value", "change_abs", "change_pct", "current_mean")
IF_TARGET = ("target_value",)
IF_ITS = (
    "cumulative_benefit",
    "cumulative_benefit_low",
    "cumulative_benefit_high",
    "level_change",
    "level_change_low",
    "level_change_high",
    "effect_latest",
)
IF_VALUED = (
    "value_gbp",
    "value_gbp_low",
    "value_gbp_high",
    "value_cash_releasing_gbp",
    "value_non_cash_releasing_gbp",
    "gbp_per_unit",
)


@pytest.mark.parametrize("code", TRUSTS)
def test_benefit_cards_show_fact_benefit_numbers(report_dir: Path, report_wh, code: str):
    facts = fact_latest(report_wh, f"local_{code.lower()}")
    assert facts, "the fixture warehouse has no benefits"
    doc = parse(report_dir / "sites" / f"{code}.html")
    cards = {c.get("data-benefit-id"): c for c in doc.find_all("article", cls="benefit-card")}
    assert set(cards) == set(facts)
    compared = 0
    for bid, fact in facts.items():
        card = cards[bid]
        assert card.find("span", cls="status-badge").get("data-status") == fact["status"]
        assert card.find(cls="status-reason").text() == " ".join(str(fact["status_reason"]).split())
        assert fact["title"] in card.text()
        assert month_label(fact["go_live_month"]) in card.text()
        figs: dict[str, list[Node]] = {}
        for f in card.find_all("span", cls="fig"):
            figs.setdefault(f.get("data-field"), []).append(f)
        expected = list(REQUIRED)
        if not _na(fact["target_value"]):
            expected += IF_TARGET
        if not _na(fact["its_model"]) and not _na(fact["level_change"]):
            expected += IF_ITS
        if not _na(fact["valuation_type"]):
            expected += IF_VALUED
        missing = [f for f in expected if f not in figs]
        assert not missing, f"{bid}: card lacks {missing}"
        for field, nodes in figs.items():
            value = fact[field]
            for node in nodes:
                if _na(value):
                    assert node.get("data-value") is None and node.text() == "–", (bid, field, node.text())
                    continue
                # The exact value is carried, and the printed figure is that value rounded.
                assert float(node.get("data-value")) == pytest.approx(float(value), rel=1e-12, abs=1e-12), (bid, field)
                shown, tol = shown_value(node.text(), node.get("data-format"))
                assert abs(shown - float(value)) <= tol, f"{bid} {field}: shows {node.text()!r} for {value!r}"
                compared += 1
    assert compared >= 20 * len(facts) // 3


@pytest.mark.parametrize("code", TRUSTS)
def test_spc_chart_has_every_point_and_its_limits(report_dir: Path, report_wh, code: str):
    spc = report_wh.query(f"select * from local_{code.lower()}.fact_benefit_spc order by benefit_id, month")
    doc = parse(report_dir / "sites" / f"{code}.html")
    for bid, rows in spc.groupby("benefit_id"):
        card = doc.find("article", data_benefit_id=bid)
        chart = card.find("svg", cls="spc-chart")
        points = chart.find_all("g", cls="pt")
        with_value = rows[rows["value"].notna()]
        assert len(points) == len(with_value) == int(chart.get("data-points"))
        assert [p.get("data-point-type") for p in points] == list(with_value["point_type"].fillna("common_cause"))
        assert [float(p.get("data-value")) for p in points] == pytest.approx(list(with_value["value"].astype(float)))
        assert all(p.find("title") is not None for p in points)  # hover text
        groups = rows[rows["segment"] != "pre_baseline"]["rebased_group"].dropna().unique()
        for kind in ("mean", "upl", "lpl"):
            assert len(chart.find_all("path", cls=kind)) == len(groups), (bid, kind)
        target = rows["target"].dropna()
        assert len(chart.find_all("path", cls="target")) == (1 if len(target) else 0)
        if (rows["segment"] == "post_go_live").any():
            assert chart.find("line", cls="go-live") is not None
        assert card.find("svg", data_icon="variation") is not None
        assert card.find("svg", data_icon="assurance") is not None


def test_benefit_cards_show_their_evidence_items(report_dir: Path, report_wh):
    """Each benefit's qualitative evidence (register `evidence:`) sits in its card, dated, with its author."""
    items = report_wh.query("select benefit_id, evidence_date, kind, text, author from local_rf4.benefit_evidence order by item")
    assert len(items) >= 2, "the demo register has evidence for RF4-EPMA-01"
    doc = parse(report_dir / "sites" / "RF4.html")
    for bid, group in items.groupby("benefit_id"):
        card = doc.find("article", data_benefit_id=bid)
        shown = card.find("section", cls="evidence").find_all("li")
        assert [li.get("data-kind") for li in shown] == list(group["kind"])
        for li, text, author in zip(shown, group["text"], group["author"], strict=True):
            assert text in li.text() and author in li.text()
    others = [c for c in doc.find_all("article", cls="benefit-card") if c.get("data-benefit-id") not in set(items["benefit_id"])]
    assert others and all(c.find("section", cls="evidence") is None for c in others)


def test_site_page_has_unplanned_changes_and_data_quality(report_dir: Path, report_wh):
    doc = parse(report_dir / "sites" / "RF4.html")
    unplanned = report_wh.query("select * from local_rf4.fact_unplanned_change")
    table = doc.find("table", cls="unplanned-table")
    if len(unplanned):
        assert len(table.find("tbody").find_all("tr")) == len(unplanned)
        # each signal with the id `benefits signals accept|reject` takes, and its triage state
        assert all("sig-" in row.text() and "new: to triage" in row.text() for row in table.find("tbody").find_all("tr"))
    assert "None recorded." in doc.find("section", aria_labelledby="observed").text()
    # Investment and return: the demo register's ePMA investment, per project and for the whole trust
    returns = report_wh.query("select * from local_rf4.benefit_investment_return order by level, project")
    rows = doc.find("table", cls="return-table").find("tbody").find_all("tr")
    assert len(rows) == len(returns) == 4 and "Whole trust" in rows[-1].text()
    epma = next(r for r in rows if "Closed-loop ePMA" in r.text())
    spent = returns.loc[returns["project"] == "Closed-loop ePMA", "investment_to_date_gbp"].iloc[0]
    assert f"£{spent:,.0f}" in epma.text() and "illustrative figures for a demo" in epma.text()
    dq = doc.find("section", aria_labelledby="dq")
    text = dq.text()
    batches = report_wh.query("select dataset, rows_quarantined from local_rf4.dq_batch")
    for ds in batches["dataset"]:
        assert ds in text
    quarantined = report_wh.query(
        "select dataset, sum(rows_quarantined) as n from local_rf4.dq_quarantine_monthly group by dataset"
    )
    for r in quarantined.itertuples():
        assert f"{r.dataset}: {int(r.n):,} row" in text
        bars = [
            b
            for s in dq.find_all("section", cls="dq-quarantine")
            if s.get("aria-label") == f"{r.dataset} quarantine"
            for b in s.find_all("g", cls="bar")
        ]
        assert sum(int(b.get("data-value")) for b in bars) == int(r.n)
    assert "Failures new since the previous batch" in text


# -- national: suppressed is shown as suppressed -------------------------------------------------
def test_national_page_shows_suppressed_cells_as_suppressed(report_dir: Path, report_wh):
    doc = parse(report_dir / "national.html")
    yearly = report_wh.query(
        "select site_code, measure_code, financial_year, value, suppressed from national.measure_financial_year "
        "where site_code in ('RF4', 'RRK')"
    )
    assert yearly["suppressed"].fillna(False).astype(bool).any(), "the fixture should have suppressed figures"
    checked = 0
    for r in yearly.itertuples():
        section = doc.find("section", data_measure=r.measure_code)
        row = section.find("tr", data_site=r.site_code)
        cell = row.find("td", data_fy=r.financial_year)
        if r.suppressed:
            assert cell.get("data-suppressed") == "true"
            assert cell.text() == "suppressed"
        else:
            assert cell.get("data-suppressed") is None
            assert cell.text() not in ("suppressed", "0", "0.00", "0.0%") or (r.value == 0)
        checked += 1
    assert checked == len(yearly)
    quarterly = report_wh.query(
        "select site_code, measure_code, count(*) filter (where suppressed) as n from national.measure_quarterly "
        "where site_code in ('RF4', 'RRK') group by 1, 2"
    )
    for r in quarterly.itertuples():
        fig = doc.find("section", data_measure=r.measure_code).find("figure", data_site=r.site_code)
        marks = fig.find_all("g", cls="suppressed")
        assert len(marks) == r.n
        assert all(m.find("circle") is None for m in marks)  # no point drawn (at zero or anywhere)
    # Only configured sites' small multiples; organisations from the publication are not listed one by one.
    sites = {f.get("data-site") for f in doc.find_all("figure", cls="multiple")}
    assert sites == {"RF4", "RRK"}


def test_national_charts_draw_a_counts_year_as_its_average_quarter(report_dir: Path, report_wh):
    """Quarterly sums of a count (bed days) and its yearly sums on one axis read as a fall: the
    chart's year level is the year's total over its quarters; a rate's year level is the year's rate."""
    doc = parse(report_dir / "national.html")
    yearly = report_wh.query(
        "select y.site_code, y.measure_code, y.financial_year, y.value, count(q.value) as quarters "
        "from national.measure_financial_year y join national.measure_quarterly q using (site_code, measure_code, financial_year) "
        "where y.site_code in ('RF4', 'RRK') and not coalesce(y.suppressed, false) and y.measure_code in "
        "('bed_days', 'omitted_critical_doses_rate') group by all"
    )
    assert set(yearly["measure_code"]) == {"bed_days", "omitted_critical_doses_rate"}
    for r in yearly.itertuples():
        fig = doc.find("section", data_measure=r.measure_code).find("figure", data_site=r.site_code)
        level = next(p for p in fig.find_all("path", cls="fy") if p.get("data-period").startswith(r.financial_year))
        expected = float(r.value) / r.quarters if r.measure_code == "bed_days" else float(r.value)
        assert float(level.get("data-value")) == pytest.approx(expected, rel=1e-9), (r, level.get("data-period"))
    key = doc.find("section", data_measure="bed_days").find("p", cls="chart-key").text()
    assert "average quarter" in key


def test_national_only_build_reads_only_the_national_mart(report_wh, report_site_configs, tmp_path: Path):
    out = tmp_path / "national"
    result = build(report_wh, report_site_configs, out, site_pages=False)
    assert not (out / "sites").exists()
    assert check_report(out) == []
    doc = parse(out / "index.html")
    assert not [a for a in doc.find_all("a") if "sites/" in (a.get("href") or "")]
    national = report_wh.query("select benefit_id, latest_suppressed from national.fact_benefit where is_latest")
    rows = {tr.get("data-benefit-id"): tr for tr in doc.find_all("tr") if tr.get("data-benefit-id")}
    assert set(rows) == set(national["benefit_id"])  # national-scope benefits only
    for r in national.itertuples():
        if r.latest_suppressed:
            assert "suppressed" in rows[r.benefit_id].text()
    assert result.pages == [out / "index.html", out / "national.html"]


def test_cli_writes_one_site(report_warehouse_url, report_sites, tmp_path: Path, monkeypatch):
    from pipeline import runtime
    from pipeline.cli import _register, app

    _register()
    monkeypatch.setenv("BENEFITS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", report_warehouse_url)  # --warehouse sets it; undone after the test
    runtime.reset()
    out = tmp_path / "cli"
    try:
        res = CliRunner().invoke(
            app,
            [
                "report",
                "--no-dbt-docs",  # the docs site: tests/pipeline/marts/test_dbt_docs.py
                "--site",
                "rf4",
                "--output",
                str(out),
                "--sites",
                str(report_sites),
                "--warehouse",
                report_warehouse_url,
            ],
        )
    finally:
        runtime.reset()
    assert res.exit_code == 0, res.output
    assert (out / "sites" / "RF4.html").is_file() and not (out / "sites" / "RRK.html").exists()
    assert (out / "national.html").exists() is False
    assert f"open {out / 'index.html'}" in res.output.replace("\n", "")
    res = CliRunner().invoke(app, ["report", "--site", "NOPE", "--output", str(out), "--sites", str(report_sites)])
    assert res.exit_code == 2


def test_no_patient_level_values_in_the_national_pages(report_dir: Path, report_wh):
    refs = report_wh.query(
        "select distinct patient_ref from staging.medication_administrations where patient_ref is not null limit 500"
    )["patient_ref"].astype(str)
    assert len(refs) > 100
    for page in ("national.html", "index.html"):
        text = (report_dir / page).read_text(encoding="utf-8")
        leaked = [r for r in refs if r in text]
        assert leaked == [], (page, leaked[:5])


def test_empty_warehouse_gives_a_report_that_says_so(tmp_path: Path, report_site_configs):
    from pipeline.warehouse.core import Warehouse

    wh = Warehouse(f"duckdb:///{tmp_path / 'empty.duckdb'}")
    try:
        result = build(wh, report_site_configs, tmp_path / "out")
    finally:
        wh.dispose()
    assert check_report(tmp_path / "out") == []
    assert "local_rf4.fact_benefit is not in the warehouse yet" in result.notes
    page = (tmp_path / "out" / "sites" / "RF4.html").read_text(encoding="utf-8")
    assert "No benefits have been evaluated for this site yet" in page
