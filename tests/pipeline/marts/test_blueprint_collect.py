"""Blueprints collected nationally (issue 17): two demo trusts export Blueprints of the same kind of
system, a folder holds them with a corrupt file and a hand-edited one carrying counts, and the
report's Blueprints page shows the two side by side with exactly the files' figures, and names
the bad files with their reasons instead of showing them."""

from __future__ import annotations

import re
import shutil
from html import unescape

import pytest
import yaml
from typer.testing import CliRunner

from benefits.blueprint import RESULT_FIELDS, RETURN_FIELDS, collect
from pipeline.cli import _register, app
from pipeline.report import build, check_report
from pipeline.report.format import ratio_words
from pipeline.runtime import get_sites
from tests.pipeline.marts.conftest import Built, clone

SYSTEM = "Closed-loop ePMA"


def _edit(path, change) -> None:
    site = yaml.safe_load(path.read_text())
    change(site)
    path.write_text(yaml.safe_dump(site, sort_keys=False))


def _rf4(site):
    epma = next(b for b in site["benefits"] if b["id"] == "RF4-EPMA-01")
    epma["evidence"] = [{"date": "2018-03-14", "kind": "quote", "text": "Rounds are calmer", "author": "Ward manager",
                         "share": True}]  # fmt: skip


def _rv5(site):
    # RV5 names its ePMA as RF4 does, so both are one kind of system (and pooled as one).
    epma = next(b for b in site["benefits"] if b["id"] == "RV5-EPMA-01")
    epma["project"] = SYSTEM
    epma["evidence"] = [{"date": "2019-01-10", "kind": "narrative", "text": "Pharmacists review omissions daily",
                         "author": "Chief pharmacist", "share": True},
                        {"date": "2019-01-11", "kind": "narrative", "text": "Not for sharing", "author": "Matron"}]  # fmt: skip
    site["projects"] = [{"name": SYSTEM, "investment": {"one_off_gbp": 45000, "recurring_gbp_per_year": 9000,
                                                        "source": "illustrative"}}]  # fmt: skip


@pytest.fixture(scope="module")
def exported(duck, tmp_path_factory):
    """RF4's and RV5's ePMA Blueprints, from a private warehouse built with both registers edited."""
    _register()
    tmp = tmp_path_factory.mktemp("bp_collect")
    sites_dir = tmp / "sites"
    shutil.copytree(duck.sites_dir, sites_dir)
    _edit(sites_dir / "RF4.yaml", _rf4)
    _edit(sites_dir / "RV5.yaml", _rv5)
    built = clone(duck, f"duckdb:///{tmp / 'wh.duckdb'}", tmp)
    built = Built(built.wh, get_sites(sites_dir), sites_dir, built.settings)
    built.build()
    folder = tmp / "collected"
    folder.mkdir()
    runner = CliRunner()
    for key, site in ((SYSTEM, "RF4"), (SYSTEM, "RV5")):
        result = runner.invoke(app, ["blueprint", "export", key, "--site", site, "--sites", str(sites_dir),
                                     "--warehouse", built.wh.url, "--out", str(folder / f"{site}-epma.yaml")])  # fmt: skip
        assert result.exit_code == 0, result.output
    yield built, folder
    built.wh.dispose()


def _row(html: str, benefit_id: str) -> str:
    row = re.search(rf'<tr [^>]*data-benefit-id="{re.escape(benefit_id)}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, benefit_id
    return row.group(1)


def _figures(html: str, row_attr: str) -> dict[str, float]:
    """data-field -> data-value of the tagged figures in the table row carrying `row_attr`."""
    row = re.search(rf"<tr [^>]*{re.escape(row_attr)}[^>]*>(.*?)</tr>", html, re.S)
    assert row, row_attr
    return {f: float(v) for f, v in re.findall(r'data-field="([a-z_]+)"[^>]*data-value="([^"]+)"', row.group(1))}


def test_collected_blueprints_side_by_side_by_system(exported, tmp_path):
    built, shared = exported
    folder = shutil.copytree(shared, tmp_path / "collected")  # the bad files below stay in this test
    rf4 = yaml.safe_load((folder / "RF4-epma.yaml").read_text())
    rv5 = yaml.safe_load((folder / "RV5-epma.yaml").read_text())
    # What travels: results without counts, each project's return, the pooled evidence of the two.
    for bp in (rf4, rv5):
        (entry,) = bp["benefits"]
        assert entry["project"] == SYSTEM and set(entry["result"]) <= set(RESULT_FIELDS)
        assert "latest_value" not in entry["result"] and entry["programme_evidence"]["sites"] == 2
        (ret,) = bp["returns"]
        assert ret["project"] == SYSTEM and set(ret) - {"project"} <= set(RETURN_FIELDS) and ret["investment_to_date_gbp"] > 0
    assert [e["text"] for e in rv5["benefits"][0]["evidence"]] == ["Pharmacists review omissions daily"]

    (folder / "broken.yaml").write_text("format: nhs-benefits-blueprint/1\nbenefits: [unclosed\n")
    counts = yaml.safe_load((folder / "RF4-epma.yaml").read_text())
    counts["from_site"] = "RXX"
    counts["benefits"][0]["result"]["observed_since_go_live"] = 3
    (folder / "with-counts.yaml").write_text(yaml.safe_dump(counts, sort_keys=False))

    result = CliRunner().invoke(app, ["blueprint", "collect", str(folder)])
    assert result.exit_code == 1, result.output
    assert "refused broken.yaml: not valid YAML at line" in result.output
    assert "refused with-counts.yaml: benefit RF4-EPMA-01: result: 'observed_since_go_live' is not a field" in result.output
    assert "collected 2 Blueprint file(s), 2 benefit(s); refused 2" in result.output
    assert "RF4  RF4-EPMA-01  omitted_critical_doses_rate" in result.output

    out = tmp_path / "report"
    built_report = build(built.wh, built.sites, out, site_pages=["RF4"], blueprints=folder)
    assert check_report(out) == []
    html = (out / "blueprints.html").read_text()
    for page in ("index.html", "national.html", "sites/RF4.html"):
        assert 'href="blueprints.html"' in (out / page).read_text() or 'href="../blueprints.html"' in (out / page).read_text()
    assert {p.name for p, _ in built_report.blueprints.rejected} == {"broken.yaml", "with-counts.yaml"}

    # One section for the system, both sites' rows in it, figures exactly the files'.
    sections = re.findall(r'<section class="system-section"[^>]*data-system="([^"]+)"', html)
    assert sections == [SYSTEM]
    for bp in (rf4, rv5):
        (entry,) = bp["benefits"]
        shown = _figures(html, f'data-benefit-id="{entry["id"]}"')
        for field in ("effect_latest", "effect_latest_low", "effect_latest_high", "value_evidenced_gbp"):
            if field in entry["result"]:
                assert shown[field] == pytest.approx(entry["result"][field], rel=0, abs=0), field
        ret = bp["returns"][0]
        money = _figures(html, f'data-return-site="{bp["from_site"]}"')
        for field in ("investment_to_date_gbp", "value_evidenced_gbp", "disbenefit_cost_gbp", "net_return_gbp", "roi"):
            assert money[field] == ret[field], field
        pe = entry["programme_evidence"]
        assert f"2 sites: {ratio_words(pe['meta_rate_ratio'])} (95% CI {ratio_words(pe['meta_low'])}" in _row(html, entry["id"])
    assert '<table class="programme-table">' in html
    assert "Rounds are calmer" in unescape(html) and "Pharmacists review omissions daily" in html
    assert "Not for sharing" not in html
    # The refused files are named with their reasons, and nothing of theirs is shown.
    assert re.search(r'data-file="broken.yaml" data-outcome="refused">.*not valid YAML', html)
    assert re.search(r'data-file="with-counts.yaml" data-outcome="refused">.*observed_since_go_live', html)
    assert "RXX" not in html and html.count('data-benefit-id="RF4-EPMA-01"') == 1


def test_a_newer_blueprint_of_the_same_benefit_supersedes_the_older(exported, tmp_path):
    _, folder = exported
    bp = yaml.safe_load((folder / "RF4-epma.yaml").read_text())
    older = dict(bp, made="2020-01-01")
    (tmp_path / "a-old.yaml").write_text(yaml.safe_dump(older, sort_keys=False))
    (tmp_path / "b-new.yaml").write_text(yaml.safe_dump(bp, sort_keys=False))
    got = collect(tmp_path)
    assert [p.name for p, _ in got.blueprints] == ["b-new.yaml"] and not got.rejected
    assert [(p.name, r) for p, r in got.superseded] == [("a-old.yaml", f"RF4-EPMA-01: superseded by b-new.yaml (made {bp['made']})")]


def test_report_command_writes_the_blueprints_page(exported, tmp_path):
    built, folder = exported
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", "--site", "RF4", "--national", "--blueprints", str(folder), "--no-dbt-docs",
                                      "--sites", str(built.sites_dir), "--warehouse", built.wh.url, "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "blueprints.html" in result.output and "collected 2 Blueprint file(s), 2 benefit(s); refused 0" in result.output
    index = (out / "index.html").read_text()
    assert 'class="cta" href="blueprints.html"' in index
    assert 'data-system="Closed-loop ePMA"' in (out / "blueprints.html").read_text()

    missing = CliRunner().invoke(app, ["report", "--national", "--blueprints", str(tmp_path / "nowhere"),
                                       "--warehouse", built.wh.url, "-o", str(out)])  # fmt: skip
    assert missing.exit_code == 2 and "nowhere" in missing.output and "Traceback" not in missing.output
