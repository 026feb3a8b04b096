"""SQL text built from configuration: identifiers checked before use, values quoted as literals.

Every layer builds some SQL from names and values it was given (a site's schema, a column
map, a file path), so the two helpers live here, below everything that needs them.
"""

from __future__ import annotations

import re
from typing import Any

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    """Validate an identifier we build from config (schema, table, column) before it goes into SQL."""
    for part in name.split("."):
        if not _IDENT.match(part):
            raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def sql_literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """Double-quote any column name (a source's own headers may hold spaces or quotes)."""
    return '"' + name.replace('"', '""') + '"'
