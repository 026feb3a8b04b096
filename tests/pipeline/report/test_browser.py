"""The report in a real browser: headless Chromium opens a site page with no console errors and no
request leaving the folder, the SPC charts render with every point and limit line laid out, the
page prints to a multi-page PDF, and a screenshot is kept for people to look at."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.pipeline.report.chromium import Chromium

pytestmark = pytest.mark.slow

# Set BENEFITS_REPORT_SCREENSHOTS to a folder to keep the screenshot, PDF and DOM summary for people to look at.
SCREENSHOTS = os.environ.get("BENEFITS_REPORT_SCREENSHOTS")

DOM_CHECK = """
(() => {
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const laidOut = el => el.getBoundingClientRect().width > 0;  // a horizontal line has no height
  return {
    ready: document.documentElement.getAttribute("data-report-ready"),
    charts: [...document.querySelectorAll("svg.spc-chart")].map(svg => ({
      id: svg.id,
      benefit: svg.closest("article").dataset.benefitId,
      declared: Number(svg.dataset.points),
      width: svg.getBoundingClientRect().width,
      points: [...svg.querySelectorAll("g.pt:not(.suppressed)")].filter(visible).length,
      limits: [...svg.querySelectorAll("path.limit.upl, path.limit.lpl, path.limit.mean")].length,
      drawnLimits: [...svg.querySelectorAll("path.limit.upl, path.limit.lpl, path.limit.mean")].filter(laidOut).length,
      target: svg.querySelectorAll("path.target").length,
      hover: [...svg.querySelectorAll("g.pt")].every(g => (g.getAttribute("data-tip") || "").length > 0),
    })),
    icons: [...document.querySelectorAll("article svg.mdc-icon")].filter(visible).length,
    cards: document.querySelectorAll("article.benefit-card").length,
  };
})()
"""


def _pdf_pages(data: bytes) -> int:
    return data.count(b"/Type /Page") - data.count(b"/Type /Pages") or data.count(b"/Type/Page") - data.count(
        b"/Type/Pages"
    )


def test_site_page_in_headless_chromium(chromium_binary, report_dir: Path, report_wh, tmp_path: Path):
    spc = report_wh.query(
        "select benefit_id, count(value) as points, "
        "count(distinct case when segment <> 'pre_baseline' then rebased_group end) as groups "
        "from local_rf4.fact_benefit_spc group by benefit_id"
    )
    expected = {r.benefit_id: (int(r.points), int(r.groups)) for r in spc.itertuples()}
    assert expected
    page = report_dir / "sites" / "RF4.html"
    with Chromium(chromium_binary, width=1280, height=1000) as browser:
        loaded = browser.open(page.as_uri())
        assert loaded.errors == [], loaded.errors
        outside = [u for u in loaded.requests if not u.startswith(("file://", "data:"))]
        assert outside == [], f"requests leaving the report folder: {outside}"
        dom = browser.evaluate(DOM_CHECK)
        assert dom["ready"] is not None and int(dom["ready"]) > 0, "the page's script did not run"
        assert dom["cards"] == len(expected)
        assert dom["icons"] == 2 * len(expected)  # variation and assurance on every card
        for chart in dom["charts"]:
            points, groups = expected[chart["benefit"]]
            assert chart["width"] > 400, chart
            assert chart["points"] == chart["declared"] == points, chart
            assert chart["limits"] == 3 * groups, chart
            assert chart["drawnLimits"] >= 3, chart  # at least the latest group's mean and limits are on screen
            assert chart["hover"], chart
        # Hover: the point's label shows at once (the page's script), naming month, value and point type.
        # The page hides the tooltip on scroll, and scrolling's event fires on a later frame:
        # wait two frames after scrolling so it cannot land after the hover.
        box = browser.evaluate(
            "new Promise(done => { const p = document.querySelector('svg.spc-chart g.pt');"
            " p.scrollIntoView({block: 'center'});"
            " requestAnimationFrame(() => requestAnimationFrame(() => { const r = p.getBoundingClientRect();"
            " done([r.x + r.width / 2, r.y + r.height / 2, p.dataset.tip]); })); })"
        )
        browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box[0], "y": box[1]})
        tip = browser.evaluate(
            "(() => { const t = document.querySelector('.tooltip'); return [t.hidden, t.textContent]; })()"
        )
        assert tip == [False, box[2]] and "against the baseline" in tip[1], tip
        browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 2, "y": 2})
        shot = browser.screenshot(tmp_path / "RF4.png")
        pdf = browser.print_pdf(tmp_path / "RF4.pdf")
        for other in ("index.html", "national.html"):
            loaded = browser.open((report_dir / other).as_uri())
            assert loaded.errors == [], (other, loaded.errors)
            assert [u for u in loaded.requests if not u.startswith(("file://", "data:"))] == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
    pdf_bytes = pdf.read_bytes()
    assert pdf_bytes[:5] == b"%PDF-"
    assert _pdf_pages(pdf_bytes) >= len(expected)  # one benefit card per printed page at least
    if SCREENSHOTS:
        keep = Path(SCREENSHOTS)
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep / "RF4.png")
        shutil.copy(pdf, keep / "RF4.pdf")
        (keep / "RF4.json").write_text(json.dumps(dom, indent=2))


# Every page at a phone's, a laptop's and a wide screen's width: nothing runs off the right edge.
# A table may scroll inside its own wrapper (overflow-x: auto), never push the page wider, and the
# benefit tables' last column (the value) must be on screen at laptop width and wider.
LAYOUT_CHECK = """
(() => {
  const vw = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (el.closest(".table-wrap") && el.closest(".table-wrap") !== el) continue;  // scrolls in its wrapper
    if (getComputedStyle(el).position === "fixed" || el.closest("[hidden]")) continue;
    if (r.right > vw + 1) out.push(`${el.tagName.toLowerCase()}.${el.className.baseVal ?? el.className}: right ${Math.round(r.right)} > ${vw}`);
  }
  const cut = [...document.querySelectorAll(".table-wrap")].filter(w => w.scrollWidth > w.clientWidth + 1)
    .map(w => `${(w.querySelector("caption") || w).textContent.trim().slice(0, 60)}: ${w.scrollWidth} in ${w.clientWidth}`);
  return {page: document.documentElement.scrollWidth, vw, overflowing: out.slice(0, 10), scrolled: cut};
})()
"""


@pytest.mark.parametrize("width", [390, 1400, 1920])
def test_pages_fit_phone_laptop_and_wide_screens(chromium_binary, report_dir: Path, width: int):
    pages = [report_dir / "index.html", report_dir / "national.html", *sorted((report_dir / "sites").glob("*.html"))]
    with Chromium(chromium_binary, width=max(width, 800), height=900) as browser:
        # Headless windows have a minimum width; the device metrics give the exact one.
        browser.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
        for page in pages:
            assert browser.open(page.as_uri()).errors == []
            layout = browser.evaluate(LAYOUT_CHECK)
            assert layout["page"] <= layout["vw"] + 1 and layout["overflowing"] == [], (page.name, width, layout)
            if width >= 1400:  # a laptop shows every table whole; a phone may scroll one sideways
                assert layout["scrolled"] == [], (page.name, width, layout)
