"""`benefits report` carries the dbt docs site of sql/ (issue 16): dbt-docs/index.html, dbt's own
static page with the manifest and the warehouse's catalog inlined, linked from the report's index."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.marts.dbt_docs import DOCS_PAGE, link_from_index, report_problems
from pipeline.warehouse.models import models_root


def _inlined(html: str, name: str) -> dict:
    """The JSON dbt's static page inlines as `<name>:{...}` (manifest, catalog)."""
    at = re.search(name + r":\{\"metadata\"", html)
    assert at, f"no inlined {name}"
    return json.JSONDecoder().raw_decode(html, at.start() + len(name) + 1)[0]


def _project_models() -> set[str]:
    return {p.stem for p in models_root().rglob("*.sql")}


@pytest.mark.slow
def test_report_writes_the_dbt_docs_site_and_links_it(duck, tmp_path, monkeypatch):
    from pipeline import runtime
    from pipeline.cli import _register, app

    _register()
    monkeypatch.setenv("BENEFITS_HOME", str(tmp_path / "home"))
    runtime.reset()
    out = tmp_path / "report"
    duck.wh.dispose()  # DuckDB: one configuration per file per process, and dbt opens it too
    try:
        result = CliRunner().invoke(app, ["report", "--national", "--sites", str(duck.sites_dir),
                                          "--warehouse", duck.wh.url, "-o", str(out)])  # fmt: skip
    finally:
        runtime.reset()
    assert result.exit_code == 0, result.output
    page = out / DOCS_PAGE
    assert f"wrote {page}" in result.output.replace("\n", "")
    html = page.read_text(encoding="utf-8")
    assert "<title>dbt Docs</title>" in html
    manifest, catalog = _inlined(html, "manifest"), _inlined(html, "catalog")
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert models >= _project_models()  # every model of sql/models (and the demo site's local measure)
    described = manifest["nodes"]["model.benefits.national_fact_measure_monthly"]
    assert described["description"] and described["columns"]["suppressed"]["description"]
    # The catalog is the warehouse's: the built table with its real columns.
    fact = catalog["nodes"]["model.benefits.national_fact_measure_monthly"]
    assert fact["metadata"]["schema"] == "national" and "suppressed" in fact["columns"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count(f'href="{DOCS_PAGE}"') == 1


def test_the_link_goes_in_the_index_footer_once(tmp_path):
    index = tmp_path / "index.html"
    index.write_text("<html><body><main></main><footer class='page-footer'><p>x</p></footer>\n<script></script></body></html>")
    link_from_index(index)
    link_from_index(index)  # a second report into the same folder: still one link
    html = index.read_text()
    assert html.count(f'href="{DOCS_PAGE}"') == 1
    assert html.index(DOCS_PAGE) < html.index("</footer>")


def test_the_report_check_leaves_only_dbts_own_page_out():
    problems = ["dbt-docs/index.html: <script> mentions a remote address", "index.html: missing file: x.png"]
    assert report_problems(problems) == ["index.html: missing file: x.png"]


def test_report_without_dbt_docs_writes_none(tmp_path: Path):
    """--no-dbt-docs: the option exists and is the way to skip dbt (checked on the command's help)."""
    from pipeline.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["report", "--help"])
    assert "--no-dbt-docs" in result.output
