"""Safe text: what a code or identifier column may hold before analysts export it.

Text columns are exported to spreadsheets and printed in terminals. A value that starts like a
formula (`=HYPERLINK(...)`, `+cmd|...`, `@SUM(...)`) runs when the export is opened; a terminal
escape sequence rewrites the analyst's screen; a NUL byte cannot be stored in PostgreSQL at all
(its COPY fails the whole batch); a megabyte "code" is an attack or a broken export, never a ward.
The `<column>_is_safe_text` rule (expectations/rules.py) quarantines such values, with the same
SQL on DuckDB and PostgreSQL.

A NUL byte is neutralised before that: harmonise writes it as `␀` (U+2400, SYMBOL FOR NUL), which
both warehouses can store and the rule then flags, so the quarantined value still shows where it was.
"""

from __future__ import annotations

from dataset_contracts.sql import ident

NUL_SHOWN_AS = "\u2400"

# One regular expression, read the same by DuckDB (`~` is a full match there) and PostgreSQL (`~`
# searches, so it is anchored): a value that
#   starts with = or @ (a formula), or with + or - followed by anything but a plain number
#   (`-5` is a number and `-` alone is text, but `-2+3+cmd|...` runs), or
#   holds a C0 control but tab, DEL, a C1 control (ESC, CSI, ...) or the NUL symbol harmonise wrote.
# [\s\S] is any character, line breaks included, in both engines. No `%` (a parameter marker to
# PostgreSQL's driver) and no `translate` (60 times slower than a regex on DuckDB).
_ANY = r"[\s\S]*"
_CONTROL = r"[\x01-\x08\x0a-\x1f\x7f-\x9f" + NUL_SHOWN_AS + "]"
UNSAFE_PATTERN = rf"^([=@]{_ANY}|[+-]{_ANY}[^0-9.]{_ANY}|{_ANY}{_CONTROL}{_ANY})$"

# Longest value of a text column unless its contract says otherwise: codes are short; identifiers
# and pseudonymised references declare their own (contracts.py).
CODE_MAX_LENGTH = 64


def unsafe_text(column: str, max_length: int) -> str:
    """SQL predicate: the column holds a value that is not safe text (null is safe)."""
    c = ident(column)
    return f"{c} is not null and (length({c}) > {int(max_length)} or {c} ~ '{UNSAFE_PATTERN}')"


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return (code < 32 and ch != "\t") or 127 <= code < 160


def visible(value: str, limit: int = 200) -> str:
    """A value for a terminal: control characters as escapes (repr's), at most `limit` characters."""
    shown = "".join(repr(ch)[1:-1] if _is_control(ch) else ch for ch in value)
    if len(shown) > limit:
        shown = f"{shown[:limit]}… ({len(value):,} characters)"
    return shown
