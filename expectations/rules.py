"""The data-quality rules of a dataset contract: one definition per rule, two executions.

Each rule is a Great Expectations expectation (what the batch is validated and reported with)
and, for row-level rules, the SQL predicate that picks out the failing rows for quarantine.
Both come from the same definition below, and a test checks that GX's unexpected count and
the predicate's count agree for every rule.

Severity: `fatal` holds the whole batch; `error` quarantines the failing rows (and holds the
batch when more than `threshold` percent of its rows fail); `warning` is recorded only.
Category follows Kahn et al.'s harmonised DQ framework: conformance, completeness, plausibility.

A dataset's suite is `build_rules(contract, ...)`: the contract (dataset_contracts/contracts.py) is
the single source, this module turns it into rules, and nothing is kept as JSON beside it.
Rules with no built-in GX expectation are SQL predicates run through `ExpectNoUnexpectedRows`
(expectations/custom.py), so the GX query and the quarantine predicate are the same text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dataset_contracts.contracts import Contract
from dataset_contracts.malformed import PREDICATE as MALFORMED_PREDICATE, RULE as MALFORMED
from dataset_contracts.safe_text import CODE_MAX_LENGTH, NUL_SHOWN_AS, unsafe_text
from dataset_contracts.sql import sql_literal

DEFAULT_HOLD_PERCENT = 5.0
# Our severities on GX's own scale (shown in Data Docs and used by GX-side alerting).
GX_SEVERITY = {"fatal": "critical", "error": "warning", "warning": "info"}


@dataclass(frozen=True)
class Rule:
    name: str
    category: str  # conformance | completeness | plausibility
    severity: str  # fatal | error | warning
    description: str
    gx_type: str  # Great Expectations expectation class name
    gx_kwargs: dict[str, Any] = field(default_factory=dict)
    unexpected: str | None = None  # SQL predicate over a batch row; None for table-level rules
    unique_columns: tuple[str, ...] = ()  # row-level uniqueness is a join, not a predicate
    keys_table: str | None = None  # the batch's repeated key values, when it has such a table (build_rules)
    threshold: float | None = None  # percent of rows failing above which the batch is held

    def expectation(self):
        import great_expectations.expectations as gxe

        from expectations import custom

        cls = getattr(custom, self.gx_type, None) or getattr(gxe, self.gx_type)
        kwargs = dict(self.gx_kwargs)
        kwargs.setdefault("description", self.description)
        meta = {"rule": self.name, "category": self.category, "severity": self.severity}
        if self.threshold is not None and self.severity == "error":
            meta["hold_batch_above_percent"] = self.threshold
        return cls(**kwargs, severity=GX_SEVERITY[self.severity], meta=meta)

    @property
    def row_level(self) -> bool:
        return self.severity == "error" and (self.unexpected is not None or bool(self.unique_columns))


def _values(values) -> str:
    return ", ".join(sql_literal(v) for v in values)


def row_rule(
    name: str, category: str, severity: str, description: str, predicate: str, batch_table: str, threshold: float | None
) -> Rule:
    """A rule GX has no built-in expectation for: one SQL predicate, counted by GX, split by the load."""
    query = predicate.replace("{", "{{").replace("}", "}}")  # GX formats the query with {batch}
    return Rule(
        name,
        category,
        severity,
        description,
        "ExpectNoUnexpectedRows",
        {"unexpected_rows_query": f"select * from {batch_table} where {query}"},
        unexpected=predicate,
        threshold=threshold if severity == "error" else None,
    )


@dataclass(frozen=True)
class _Build:
    """One build's inputs, beside the contract, that the rule builders below share."""

    contract: Contract
    mappings: dict
    as_of: dt.datetime
    batch_table: str
    hold: float
    site_code: str | None
    keys_table: str | None = None

    def row(self, name: str, category: str, description: str, predicate: str) -> Rule:
        return row_rule(name, category, "error", description, predicate, self.batch_table, self.hold)


def _table_rules(b: _Build) -> list[Rule]:
    return [
        Rule(
            "batch_not_empty",
            "completeness",
            "fatal",
            "the batch has at least one row",
            "ExpectTableRowCountToBeBetween",
            {"min_value": 1},
        ),
        Rule(
            "required_columns_present",
            "conformance",
            "fatal",
            "every contract column is present",
            "ExpectTableColumnsToMatchSet",
            {"column_set": b.contract.column_names, "exact_match": False},
        ),
        Rule(
            "values_parse_as_contract_types",
            "conformance",
            "error",
            "every value parses as its contract type (dates, times, numbers, booleans)",
            "ExpectColumnValuesToBeNull",
            {"column": "_conform_errors"},
            unexpected="_conform_errors is not null",
            threshold=b.hold,
        ),
        b.row(
            MALFORMED,
            "conformance",
            "every line of a text extract could be read as a row (not too many or too few fields, no "
            "unterminated quote, no bytes outside the file's encoding); a malformed line is kept with its "
            "file, line number and reason",
            MALFORMED_PREDICATE,
        ),
    ]


# -- one builder per column property: a rule, or None when the column does not have it --


def _not_null(b: _Build, col) -> Rule | None:
    if not col.required:
        return None
    return Rule(
        f"{col.name}_not_null",
        "completeness",
        "error",
        f"{col.name} is present on every row",
        "ExpectColumnValuesToNotBeNull",
        {"column": col.name},
        unexpected=f"{col.name} is null",
        threshold=b.hold,
    )


def _in_value_set(b: _Build, col) -> Rule | None:
    """The contract's own values; else, for a varchar the site maps, the codes it has mapped to."""
    if col.values:
        return Rule(
            f"{col.name}_in_value_set",
            "conformance",
            "error",
            f"{col.name} is one of {', '.join(col.values)} (a local code without a mapping fails here)",
            "ExpectColumnValuesToBeInSet",
            {"column": col.name, "value_set": list(col.values)},
            unexpected=f"{col.name} is not null and {col.name} not in ({_values(col.values)})",
            threshold=b.hold,
        )
    if col.name not in b.mappings or col.type != "varchar":
        return None
    m = b.mappings[col.name]
    targets = sorted({str(v) for v in (m.values() if isinstance(m, dict) else m)})
    return Rule(
        f"{col.name}_has_mapping",
        "conformance",
        "error",
        f"{col.name} is a local code the site has mapped ({len(targets)} known)",
        "ExpectColumnValuesToBeInSet",
        {"column": col.name, "value_set": targets},
        unexpected=f"{col.name} is not null and {col.name} not in ({_values(targets)})",
        threshold=b.hold,
    )


def _safe_text(b: _Build, col) -> Rule | None:
    if not col.free_text:
        return None
    limit = col.max_length or CODE_MAX_LENGTH
    return b.row(
        f"{col.name}_is_safe_text",
        "conformance",
        f"{col.name} is plain text of at most {limit} characters: no control characters or escape "
        f"sequences (a NUL byte shows as {NUL_SHOWN_AS}), and it does not start like a spreadsheet "
        "formula (=, @, or + or - before anything but a number)",
        unsafe_text(col.name, limit),
    )


def _digits(b: _Build, col) -> Rule | None:
    if col.digits is None:
        return None
    lo, hi = col.digits
    size = f"{lo}" if lo == hi else f"{lo} to {hi}"
    return b.row(
        f"{col.name}_is_{lo}_digits" if lo == hi else f"{col.name}_is_{lo}_to_{hi}_digits",
        "conformance",
        f"{col.name} is a code of {size} digits",
        f"{col.name} is not null and (length({col.name}) < {lo} or length({col.name}) > {hi} "
        f"or translate({col.name}, '0123456789', '') <> '')",
    )


def _at_least(b: _Build, col) -> Rule | None:
    if col.min_value is None:
        return None
    return Rule(
        f"{col.name}_not_negative" if col.min_value == 0 else f"{col.name}_at_least_{col.min_value:g}",
        "plausibility",
        "error",
        f"{col.name} >= {col.min_value:g}",
        "ExpectColumnValuesToBeBetween",
        {"column": col.name, "min_value": col.min_value},
        unexpected=f"{col.name} < {col.min_value!r}",
        threshold=b.hold,
    )


COLUMN_RULES = (_not_null, _in_value_set, _safe_text, _digits, _at_least)


def _column_rules(b: _Build) -> list[Rule]:
    """Column by column, each column's rules in COLUMN_RULES order."""
    return [rule for col in b.contract.columns for build in COLUMN_RULES if (rule := build(b, col)) is not None]


# -- one builder per contract property --


def _key_unique(b: _Build) -> list[Rule]:
    key_cols = tuple(k.strip() for k in b.contract.key.split(","))
    name = f"{'_'.join(key_cols)}_unique"
    description = f"({', '.join(key_cols)}) identifies one row; every row of a repeated key is quarantined"
    if b.keys_table:
        # GX counts the rows whose key is in the batch's table of repeated keys, the same table the
        # load quarantines by: the keys are grouped once per batch, not once by GX and once by the load.
        match = " and ".join(f"k.{key_column(j)} = {c}" for j, c in enumerate(key_cols))
        query = f"select * from {b.batch_table} where exists (select 1 from {b.keys_table} k where {match})"
        kind, kwargs = "ExpectNoUnexpectedRows", {"unexpected_rows_query": query}
    elif len(key_cols) == 1:
        kind, kwargs = "ExpectColumnValuesToBeUnique", {"column": key_cols[0]}
    else:
        # A row with part of its key missing fails a not-null rule instead; it is no duplicate.
        kind = "ExpectCompoundColumnsToBeUnique"
        kwargs = {"column_list": list(key_cols), "ignore_row_if": "any_value_is_missing"}
    return [
        Rule(name, "plausibility", "error", description, kind, kwargs, unique_columns=key_cols, keys_table=b.keys_table,
             threshold=b.hold)  # fmt: skip
    ]


def key_column(j: int) -> str:
    """The name of the key's j-th column in a table of repeated keys."""
    return f"_key{j}"


def _ordered_pairs(b: _Build) -> list[Rule]:
    return [
        Rule(
            f"{later}_not_before_{earlier}",
            "plausibility",
            severity,
            f"{later} is not earlier than {earlier}",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": later, "column_B": earlier, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
            unexpected=f"{later} is not null and {earlier} is not null and {later} < {earlier}",
            threshold=b.hold,
        )
        for later, earlier, severity in b.contract.ordered_pairs
    ]


def _bounded_pairs(b: _Build) -> list[Rule]:
    return [
        Rule(
            f"{smaller}_not_above_{larger}",
            "plausibility",
            severity,
            f"{smaller} is at most {larger}",
            "ExpectColumnPairValuesAToBeGreaterThanB",
            {"column_A": larger, "column_B": smaller, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
            unexpected=f"{smaller} is not null and {larger} is not null and {smaller} > {larger}",
            threshold=b.hold,
        )
        for smaller, larger, severity in b.contract.bounded_pairs
    ]


def _not_in_future(b: _Build, name: str) -> Rule:
    col = b.contract.column(name)
    limit = b.as_of.date().isoformat() if col.type == "date" else b.as_of.isoformat(sep=" ")
    return Rule(
        f"{name}_not_in_future",
        "plausibility",
        "error",
        f"{name} is not after the time of validation",
        "ExpectColumnValuesToBeBetween",
        {"column": name, "max_value": limit},
        unexpected=f"{name} > cast({sql_literal(limit)} as {col.sql_type('duckdb')})",
        threshold=b.hold,
    )


def _not_future(b: _Build) -> list[Rule]:
    return [_not_in_future(b, name) for name in b.contract.not_future]


def _month_columns(b: _Build) -> list[Rule]:
    return [
        b.row(
            f"{name}_is_first_of_month",
            "conformance",
            f"{name} is the first day of a month",
            f"{name} is not null and extract(day from {name}) <> 1",
        )
        for name in b.contract.month_columns
    ]


def _site_column(b: _Build) -> list[Rule]:
    """Only a `site_code` column is restricted: multi-organisation publications key on `org_code`."""
    c = b.contract
    if not (b.site_code and c.site_column == "site_code" and "site_code" in c.column_names):
        return []
    return [
        b.row(
            f"site_code_is_{b.site_code}",
            "conformance",
            f"site_code is {b.site_code}, the site this source belongs to (a row of another trust is not loaded "
            "into either's figures; its own code is kept with it in quarantine)",
            f"site_code is not null and site_code <> {sql_literal(b.site_code)}",
        )
    ]


def _period_column(b: _Build) -> list[Rule]:
    p = b.contract.period_column
    return [
        b.row(
            f"{p}_inside_batch_period",
            "plausibility",
            f"{p} falls in the month its extract covers",
            f"_period is not null and {p} is not null and ({p} < _period or {p} >= _period + interval '1 month')",
        )
    ]


# A dataset's suite, in this order: table-level rules, each column's, then the contract's cross-column properties.
CONTRACT_RULES = (
    _table_rules,
    _column_rules,
    _key_unique,
    _ordered_pairs,
    _bounded_pairs,
    _not_future,
    _month_columns,
    _site_column,
    _period_column,
)


def build_rules(
    contract: Contract,
    *,
    mappings: dict | None = None,
    as_of: dt.datetime | None = None,
    batch_table: str = "{batch}",
    hold_percent: float = DEFAULT_HOLD_PERCENT,
    site_code: str | None = None,
    keys_table: str | None = None,
) -> list[Rule]:
    """Rules for one dataset at one site (mappings add `has_mapping` rules) validated at `as_of`.

    `site_code`, the ODS code of the site whose source this is, adds a rule that quarantines rows
    carrying another trust's code in the contract's `site_code` column: loaded, they would count
    in the other trust's figures. Multi-organisation publications key on `org_code` instead and
    are not restricted.

    `keys_table` names the batch's table of repeated key values, made when it landed
    (pipeline/ingest/load.py, `create_keys_table`): the key rule is then counted against it.
    Without one (a suite for documentation, a check outside the load) the key rule is GX's own
    uniqueness expectation; both count the same rows."""
    as_of = as_of or dt.datetime.now().replace(microsecond=0)
    b = _Build(contract, mappings or {}, as_of, batch_table, hold_percent, site_code, keys_table)
    return [rule for build in CONTRACT_RULES for rule in build(b)]


def build_suite(name: str, rules: list[Rule]):
    """The GX suite for one dataset (at one site: its mappings add `has_mapping` rules).

    The expectations go in through the constructor, not `add_expectation`: that method looks
    the suite's name up in the expectations store of whichever GX context was created last in
    the process and, when a suite of that name is stored there (Data Docs keeps one per
    dataset), rewrites the stored suite once per expectation, on every validation.
    """
    import great_expectations as gx

    return gx.ExpectationSuite(name=name, expectations=[r.expectation() for r in rules], meta={"dataset": name})
