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


def build_rules(
    contract: Contract,
    *,
    mappings: dict | None = None,
    as_of: dt.datetime | None = None,
    batch_table: str = "{batch}",
    hold_percent: float = DEFAULT_HOLD_PERCENT,
    site_code: str | None = None,
) -> list[Rule]:
    """Rules for one dataset at one site (mappings add `has_mapping` rules) validated at `as_of`.

    `site_code`, the ODS code of the site whose source this is, adds a rule that quarantines rows
    carrying another trust's code in the contract's `site_code` column: loaded, they would count
    in the other trust's figures. Multi-organisation publications key on `org_code` instead and
    are not restricted."""
    mappings = mappings or {}
    as_of = as_of or dt.datetime.now().replace(microsecond=0)
    rules: list[Rule] = [
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
            {"column_set": contract.column_names, "exact_match": False},
        ),
        Rule(
            "values_parse_as_contract_types",
            "conformance",
            "error",
            "every value parses as its contract type (dates, times, numbers, booleans)",
            "ExpectColumnValuesToBeNull",
            {"column": "_conform_errors"},
            unexpected="_conform_errors is not null",
            threshold=hold_percent,
        ),
        row_rule(
            MALFORMED,
            "conformance",
            "error",
            "every line of a text extract could be read as a row (not too many or too few fields, no "
            "unterminated quote, no bytes outside the file's encoding); a malformed line is kept with its "
            "file, line number and reason",
            MALFORMED_PREDICATE,
            batch_table,
            hold_percent,
        ),
    ]
    key_cols = tuple(k.strip() for k in contract.key.split(","))
    for col in contract.columns:
        if col.required:
            rules.append(
                Rule(
                    f"{col.name}_not_null",
                    "completeness",
                    "error",
                    f"{col.name} is present on every row",
                    "ExpectColumnValuesToNotBeNull",
                    {"column": col.name},
                    unexpected=f"{col.name} is null",
                    threshold=hold_percent,
                )
            )
        if col.values:
            rules.append(
                Rule(
                    f"{col.name}_in_value_set",
                    "conformance",
                    "error",
                    f"{col.name} is one of {', '.join(col.values)} (a local code without a mapping fails here)",
                    "ExpectColumnValuesToBeInSet",
                    {"column": col.name, "value_set": list(col.values)},
                    unexpected=f"{col.name} is not null and {col.name} not in ({_values(col.values)})",
                    threshold=hold_percent,
                )
            )
        elif col.name in mappings and col.type == "varchar":
            m = mappings[col.name]
            targets = sorted({str(v) for v in (m.values() if isinstance(m, dict) else m)})
            rules.append(
                Rule(
                    f"{col.name}_has_mapping",
                    "conformance",
                    "error",
                    f"{col.name} is a local code the site has mapped ({len(targets)} known)",
                    "ExpectColumnValuesToBeInSet",
                    {"column": col.name, "value_set": targets},
                    unexpected=f"{col.name} is not null and {col.name} not in ({_values(targets)})",
                    threshold=hold_percent,
                )
            )
        if col.free_text:
            limit = col.max_length or CODE_MAX_LENGTH
            rules.append(
                row_rule(
                    f"{col.name}_is_safe_text",
                    "conformance",
                    "error",
                    f"{col.name} is plain text of at most {limit} characters: no control characters or escape "
                    f"sequences (a NUL byte shows as {NUL_SHOWN_AS}), and it does not start like a spreadsheet "
                    "formula (=, @, or + or - before anything but a number)",
                    unsafe_text(col.name, limit),
                    batch_table,
                    hold_percent,
                )
            )
        if col.digits is not None:
            lo, hi = col.digits
            size = f"{lo}" if lo == hi else f"{lo} to {hi}"
            rules.append(
                row_rule(
                    f"{col.name}_is_{lo}_digits" if lo == hi else f"{col.name}_is_{lo}_to_{hi}_digits",
                    "conformance",
                    "error",
                    f"{col.name} is a code of {size} digits",
                    f"{col.name} is not null and (length({col.name}) < {lo} or length({col.name}) > {hi} "
                    f"or translate({col.name}, '0123456789', '') <> '')",
                    batch_table,
                    hold_percent,
                )
            )
        if col.min_value is not None:
            rules.append(
                Rule(
                    f"{col.name}_not_negative" if col.min_value == 0 else f"{col.name}_at_least_{col.min_value:g}",
                    "plausibility",
                    "error",
                    f"{col.name} >= {col.min_value:g}",
                    "ExpectColumnValuesToBeBetween",
                    {"column": col.name, "min_value": col.min_value},
                    unexpected=f"{col.name} < {col.min_value!r}",
                    threshold=hold_percent,
                )
            )
    rules.append(
        Rule(
            f"{'_'.join(key_cols)}_unique",
            "plausibility",
            "error",
            f"({', '.join(key_cols)}) identifies one row; every row of a repeated key is quarantined",
            "ExpectColumnValuesToBeUnique" if len(key_cols) == 1 else "ExpectCompoundColumnsToBeUnique",
            # A row with part of its key missing fails a not-null rule instead; it is no duplicate.
            {"column": key_cols[0]}
            if len(key_cols) == 1
            else {"column_list": list(key_cols), "ignore_row_if": "any_value_is_missing"},
            unique_columns=key_cols,
            threshold=hold_percent,
        )
    )
    for later, earlier, severity in contract.ordered_pairs:
        rules.append(
            Rule(
                f"{later}_not_before_{earlier}",
                "plausibility",
                severity,
                f"{later} is not earlier than {earlier}",
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": later, "column_B": earlier, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
                unexpected=f"{later} is not null and {earlier} is not null and {later} < {earlier}",
                threshold=hold_percent,
            )
        )
    for smaller, larger, severity in contract.bounded_pairs:
        rules.append(
            Rule(
                f"{smaller}_not_above_{larger}",
                "plausibility",
                severity,
                f"{smaller} is at most {larger}",
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": larger, "column_B": smaller, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
                unexpected=f"{smaller} is not null and {larger} is not null and {smaller} > {larger}",
                threshold=hold_percent,
            )
        )
    for name in contract.not_future:
        col = contract.column(name)
        limit = as_of.date().isoformat() if col.type == "date" else as_of.isoformat(sep=" ")
        rules.append(
            Rule(
                f"{name}_not_in_future",
                "plausibility",
                "error",
                f"{name} is not after the time of validation",
                "ExpectColumnValuesToBeBetween",
                {"column": name, "max_value": limit},
                unexpected=f"{name} > cast({sql_literal(limit)} as {col.sql_type('duckdb')})",
                threshold=hold_percent,
            )
        )
    for name in contract.month_columns:
        rules.append(
            row_rule(
                f"{name}_is_first_of_month",
                "conformance",
                "error",
                f"{name} is the first day of a month",
                f"{name} is not null and extract(day from {name}) <> 1",
                batch_table,
                hold_percent,
            )
        )
    if site_code and contract.site_column == "site_code" and "site_code" in contract.column_names:
        rules.append(
            row_rule(
                f"site_code_is_{site_code}",
                "conformance",
                "error",
                f"site_code is {site_code}, the site this source belongs to (a row of another trust is not loaded "
                "into either's figures; its own code is kept with it in quarantine)",
                f"site_code is not null and site_code <> {sql_literal(site_code)}",
                batch_table,
                hold_percent,
            )
        )
    p = contract.period_column
    rules.append(
        row_rule(
            f"{p}_inside_batch_period",
            "plausibility",
            "error",
            f"{p} falls in the month its extract covers",
            f"_period is not null and {p} is not null and ({p} < _period or {p} >= _period + interval '1 month')",
            batch_table,
            hold_percent,
        )
    )
    return rules


def build_suite(name: str, rules: list[Rule]):
    """The GX suite for one dataset (at one site: its mappings add `has_mapping` rules).

    The expectations go in through the constructor, not `add_expectation`: that method looks
    the suite's name up in the expectations store of whichever GX context was created last in
    the process and, when a suite of that name is stored there (Data Docs keeps one per
    dataset), rewrites the stored suite once per expectation, on every validation.
    """
    import great_expectations as gx

    return gx.ExpectationSuite(name=name, expectations=[r.expectation() for r in rules], meta={"dataset": name})
