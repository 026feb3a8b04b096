"""The link and asset check of a built report: every reference resolves inside the report folder,
and nothing would be fetched from anywhere else.

Checked in every `*.html` under the folder: `href`, `src`, `srcset`, `poster`, `data`, `action`,
`xlink:href` and `url(...)` in attributes, `style` attributes and `<style>` blocks. A reference
is fine when it is a `data:` URI, a `#fragment` naming an id on the page, or a relative path to a
file inside the folder (and, with a fragment, an id on that page). Anything with a scheme
(`http:`, `https:`, `file:`, `mailto:`, `javascript:`) or starting with `//` is reported, as is
`http(s)://` anywhere in an attribute, style or script, where a browser might fetch it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

URL_ATTRS = {"href", "src", "poster", "data", "action", "formaction", "xlink:href", "background", "longdesc", "cite"}
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.I)
_CSS_IMPORT = re.compile(r"@import\s+(['\"])(.*?)\1", re.I)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_REMOTE = re.compile(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.I)


@dataclass
class _Page(HTMLParser):
    ids: set[str] = field(default_factory=set)
    refs: list[tuple[str, str]] = field(default_factory=list)  # (where, reference)
    remote: list[str] = field(default_factory=list)
    _in: str | None = None

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            name = name.lower()
            if name in ("id", "name") and tag != "meta":
                self.ids.add(value)
            if name in URL_ATTRS:
                self.refs.append((f"<{tag} {name}>", value.strip()))
            elif name == "srcset":
                for part in value.split(","):
                    if part.strip():
                        self.refs.append((f"<{tag} srcset>", part.strip().split()[0]))
            if "url(" in value.lower():
                for m in _CSS_URL.finditer(value):
                    self.refs.append((f"<{tag} {name}> url()", m.group(2).strip()))
            if name not in ("content",) and _REMOTE.search(value) and name not in URL_ATTRS:
                self.remote.append(f"<{tag} {name}> mentions a remote address: {value[:80]!r}")
        if tag in ("style", "script"):
            self._in = tag

    def handle_startendtag(self, tag, attrs) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            for m in _CSS_URL.finditer(data):
                self.refs.append(("<style> url()", m.group(2).strip()))
            for m in _CSS_IMPORT.finditer(data):
                self.refs.append(("<style> @import", m.group(2).strip()))
        if self._in in ("style", "script") and _REMOTE.search(data):
            self.remote.append(f"<{self._in}> mentions a remote address: {_REMOTE.search(data).group(0)!r}")


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def check_report(out_dir: str | Path) -> list[str]:
    """Problems found in the report under `out_dir` (an empty list when it is self-contained)."""
    root = Path(out_dir).resolve()
    problems: list[str] = []
    if not (root / "index.html").is_file():
        problems.append(f"{root}: no index.html at the top of the report")
    pages = {p.resolve(): _parse(p) for p in sorted(root.rglob("*.html"))}
    for path, page in pages.items():
        rel = path.relative_to(root)
        for msg in page.remote:
            problems.append(f"{rel}: {msg}")
        for where, ref in page.refs:
            problems.extend(f"{rel}: {where} {problem}" for problem in _ref_problems(ref, path, page, pages, root))
    return problems


def _ref_problems(ref: str, path: Path, page: _Page, pages: dict[Path, _Page], root: Path) -> list[str]:
    """What is wrong with one reference on the page at `path`, each said after where it was found."""
    if not ref:
        return ["is empty"]
    if ref.lower().startswith("data:"):
        return []
    if ref.startswith("//") or _SCHEME.match(ref):
        return [f"points outside the report: {ref}"]
    problems: list[str] = []
    parts = urlsplit(ref)
    if parts.query:
        problems.append(f"has a query string, which a static report cannot serve: {ref}")
    fragment = unquote(parts.fragment)
    if not parts.path:
        if ref.startswith("#") and fragment and fragment not in page.ids:
            problems.append(f"#{fragment} names no element on the page")
        elif ref == "#":
            problems.append("is a bare '#'")
        return problems
    target = (path.parent / unquote(parts.path)).resolve()
    problem = _target_problem(ref, target, fragment, pages, root)
    return problems + ([problem] if problem else [])


def _target_problem(ref: str, target: Path, fragment: str, pages: dict[Path, _Page], root: Path) -> str | None:
    """A relative reference must name a file inside the report, and its fragment an id on that page."""
    if root not in target.parents and target != root:
        return f"leaves the report folder: {ref}"
    if not target.is_file():
        return f"missing file: {ref}"
    if not fragment:
        return None
    other = pages.get(target)
    if other is None:
        return f"has a fragment into a non-HTML file: {ref}"
    if fragment not in other.ids:
        return f"#{fragment} names no element in {target.relative_to(root)}"
    return None
