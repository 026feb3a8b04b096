"""The code's shape (issue 16): small functions and files, so the next engineer can read any one of them.

Measured with lizard (cyclomatic complexity as the issue's hotspot scan counted it). Tests and bench
scripts are not held to it: a test reads best as one story.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import lizard

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60
MAX_COMPLEXITY = 15
MAX_FILE_LINES = 500


def _sources() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:  # not a git checkout (an sdist): every .py file outside tests/ and bench/
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")]
    else:
        names = listed.stdout.split()
    return [ROOT / n for n in names if not n.startswith(("tests/", "bench/", ".venv/")) and "/." not in n]


SOURCES = _sources()


def test_there_are_sources_to_measure():
    assert len(SOURCES) > 100


def test_functions_are_short_and_simple():
    too_big = []
    for path in SOURCES:
        for fn in lizard.analyze_file(str(path)).function_list:
            if fn.length > MAX_FUNCTION_LINES or fn.cyclomatic_complexity > MAX_COMPLEXITY:
                too_big.append(f"{path.relative_to(ROOT)}:{fn.start_line} {fn.name}: "
                               f"{fn.length} lines, complexity {fn.cyclomatic_complexity}")
    assert not too_big, (f"functions over {MAX_FUNCTION_LINES} lines or complexity {MAX_COMPLEXITY}; split them:\n"
                         + "\n".join(too_big))


def test_files_are_small():
    too_long = [f"{p.relative_to(ROOT)}: {n} lines" for p in SOURCES
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES]
    assert not too_long, f"files over {MAX_FILE_LINES} lines; split them by what they hold:\n" + "\n".join(too_long)


def test_no_package_holds_more_than_about_30_percent():
    """Packages are the top-level ones and, inside the application package `pipeline`, its subpackages."""
    shares: dict[str, int] = {}
    for p in SOURCES:
        parts = p.relative_to(ROOT).parts
        group = "/".join(parts[:2]) if parts[0] == "pipeline" and len(parts) > 2 else parts[0]
        shares[group] = shares.get(group, 0) + len(p.read_text(encoding="utf-8").splitlines())
    total = sum(shares.values())
    largest = max(shares, key=shares.get)
    assert shares[largest] <= 0.3 * total, f"{largest} holds {shares[largest] / total:.0%} of the code"
