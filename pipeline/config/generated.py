"""Blocks of a hand-written file that are written from a definition kept elsewhere.

YAML files that tools read as they are (Prefect's deployment file, dbt's sources) cannot loop or
include, so the lines derived from the site configurations or the dataset contracts sit between
`# >>> <name> ...` and `# <<< <name>` comments and everything around them stays as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.config.sites import ConfigError

_BLOCK = re.compile(r"^(?P<indent> *)# >>> (?P<name>[\w-]+)[^\n]*\n(?P<body>.*?)^ *# <<< (?P=name)[^\n]*\n", re.M | re.S)


def fill_blocks(text: str, bodies: dict[str, Callable[[], str]], source: str) -> str:
    """`text` with each marked block's lines replaced by its body (written at the marker's indent)."""
    found = set()

    def block(m: re.Match) -> str:
        name, indent = m["name"], m["indent"]
        if name not in bodies:
            raise ConfigError(f"{source}: unknown generated block {name!r}; known: {', '.join(bodies)}")
        found.add(name)
        head, *_, tail = m.group(0).splitlines(keepends=True)
        return head + "".join(indent + line for line in bodies[name]().splitlines(keepends=True)) + tail

    out = _BLOCK.sub(block, text)
    missing = sorted(set(bodies) - found)
    if missing:
        raise ConfigError(f"{source}: no '# >>> {missing[0]}' block to write into")
    return out
