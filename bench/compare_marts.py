"""Compare every mart table of two warehouses: `python bench/compare_marts.py BEFORE AFTER`.

BEFORE and AFTER are DuckDB files or SQLAlchemy URLs, e.g. the demo's warehouse from `benefits run`
in two BENEFITS_HOMEs, one on main and one on a branch (issue 16: "the demo's marts are identical
before and after"). Every table and view in `national` and every `local_<ods>` schema is compared
row for row, order ignored, leaving out the columns that record when the run happened
(tests.support.warehouse.RUN_TIME_COLUMNS, and --ignore-columns); `--schemas measures,staging` adds
working schemas.
Prints one line per table and exits 1 if any table differs or exists on one side only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.warehouse import RUN_TIME_COLUMNS, mart_checksums, table_rows  # noqa: E402


def engine(target: str) -> sa.Engine:
    url = target if "://" in target else f"duckdb:///{Path(target).resolve()}"
    kwargs = {"connect_args": {"read_only": True}} if url.startswith("duckdb") else {}
    return sa.create_engine(url, **kwargs)


def compare(before: sa.Engine, after: sa.Engine, extra: tuple[str, ...] = (), ignore: tuple[str, ...] = ()) -> list[str]:
    """The tables that differ (or exist on one side only); prints a line per table."""
    skip = RUN_TIME_COLUMNS + ignore
    a = mart_checksums(before, extra, skip)
    b = mart_checksums(after, extra, skip)
    bad = []
    for table in sorted(set(a) | set(b)):
        if table not in a or table not in b:
            print(f"{table}: only {'after' if table not in a else 'before'}")
            bad.append(table)
        elif a[table] != b[table]:
            ra, rb = set(table_rows(before, table, skip)), set(table_rows(after, table, skip))
            print(f"{table}: DIFFERS ({len(ra - rb)} rows only before, {len(rb - ra)} only after), e.g.")
            print("   before:", sorted(ra - rb)[:2], "\n   after: ", sorted(rb - ra)[:2])
            bad.append(table)
        else:
            print(f"{table}: identical ({len(table_rows(after, table, skip))} rows)")
    print(f"{len(set(a) | set(b))} tables compared, {len(bad)} differ")
    return bad


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--schemas", default="", help="comma-separated working schemas to compare too")
    p.add_argument("--ignore-columns", default="", help="comma-separated further run-time columns to leave out "
                   "(e.g. first_detected_at,last_scanned_at of the benefits engine's signal triage)")
    args = p.parse_args(argv)
    extra = tuple(s for s in args.schemas.split(",") if s)
    ignore = tuple(c for c in args.ignore_columns.split(",") if c)
    return 1 if compare(engine(args.before), engine(args.after), extra, ignore) else 0


if __name__ == "__main__":
    sys.exit(main())
