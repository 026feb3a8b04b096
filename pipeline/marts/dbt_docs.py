"""The dbt docs site of sql/, published with the HTML report (issue 16).

`dbt docs generate --static` with the vars `benefits dbt build` uses writes one self-contained page
(manifest and catalog inlined: every model, its description, columns, tests and lineage); it is
copied into the report folder as dbt-docs/index.html and the report's index links to it.

The page is dbt's own (an Angular application). It fetches nothing, but its scripts mention remote
addresses (dbt's documentation, GitHub), so the report's link and asset check, which is about the
report's own pages, leaves that folder out (`report_problems`).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from pipeline.config.sites import SiteConfig
from pipeline.marts.dbt import _release_duckdb, dbt_vars, invoke, profile_env
from pipeline.warehouse.core import Warehouse

DOCS_DIR = "dbt-docs"
DOCS_PAGE = f"{DOCS_DIR}/index.html"
LINK_TEXT = "The SQL layer's documentation (dbt docs): every model and column, its tests and lineage"
_FOOTER_END = re.compile(r"</footer>", re.I)


def write_dbt_docs(wh: Warehouse, sites: list[SiteConfig], out_dir: str | Path, *, suppression_threshold: int) -> Path:
    """dbt-docs/index.html under `out_dir`, from the warehouse's catalog; DbtError when dbt fails."""
    env = profile_env(wh)
    vars_ = dbt_vars(wh, sites, suppression_threshold=suppression_threshold)
    _release_duckdb(wh)  # DuckDB: dbt opens the file itself (the catalog reads the warehouse)
    target = Path(out_dir) / DOCS_PAGE
    with tempfile.TemporaryDirectory(prefix="benefits-dbt-docs-") as tmp:
        invoke(["docs", "generate", "--static"], env, vars_, target_path=Path(tmp))
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(Path(tmp) / "static_index.html", staged)
        staged.replace(target)
    return target


def link_from_index(index: Path) -> None:
    """Add the link to the docs site at the end of the index page's footer (the report's pages
    all link to the index), once."""
    html = index.read_text(encoding="utf-8")
    if f'href="{DOCS_PAGE}"' in html:
        return
    link = f'  <p class="docs-link"><a href="{DOCS_PAGE}">{LINK_TEXT}</a></p>\n'
    match = None
    for match in _FOOTER_END.finditer(html):
        pass  # the last footer: the page's own
    at = match.start() if match else html.lower().rindex("</body>")
    staged = index.with_name(f".{index.name}.tmp")
    staged.write_text(html[:at] + link + html[at:], encoding="utf-8")
    staged.replace(index)


def report_problems(problems: list[str]) -> list[str]:
    """The link and asset check's problems, less those inside dbt's own page."""
    return [p for p in problems if not p.startswith(f"{DOCS_DIR}/")]
