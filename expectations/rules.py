"""The data-quality rules of a dataset contract: one definition per rule, two executions.

Each rule is a Great Expectations expectation (what the batch is validated and reported with)
and, for row-level rules, the SQL predicate that picks out the failing rows for quarantine.
Both come from the same definition below, and a test checks that GX's unexpected count and
the predicate's count agree for every rule.

Severity: `fatal` holds the whole batch; `error` quarantines the failing rows (and holds the
batch when more than `threshold` percent of its rows fail); `warning` is recorded only.
Category follows Kahn et al.'s harmonised DQ framework: conformance, completeness, plausibility.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from expectations.contracts import Contract
from pipeline.warehouse.core import sql_literal

DEFAULT_HOLD_PERCENT = 5.0


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

        cls = getattr(gxe, self.gx_type)
        kwargs = dict(self.gx_kwargs)
        return cls(**kwargs, meta={"rule": self.name, "category": self.category, "severity": self.severity})

    @property
    def row_level(self) -> bool:
        return self.severity == "error" and (self.unexpected is not None or bool(self.unique_columns))


def _values(values) -> str:
    return ", ".join(sql_literal(v) for v in values)


def build_rules(
    contract: Contract,
    *,
    mappings: dict | None = None,
    as_of: dt.datetime | None = None,
    batch_table: str = "{batch}",
    hold_percent: float = DEFAULT_HOLD_PERCENT,
) -> list[Rule]:
    """Rules for one dataset at one site (mappings add `has_mapping` rules) validated at `as_of`."""
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
            {"column": key_cols[0]} if len(key_cols) == 1 else {"column_list": list(key_cols)},
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
    p = contract.period_column
    period_pred = f"_period is not null and {p} is not null and ({p} < _period or {p} >= _period + interval '1 month')"
    rules.append(
        Rule(
            f"{p}_inside_batch_period",
            "plausibility",
            "error",
            f"{p} falls in the month its extract covers",
            "UnexpectedRowsExpectation",
            {
                "unexpected_rows_query": f"select * from {batch_table} where {period_pred}",
                "description": f"{p} falls in the month its extract covers",
            },
            unexpected=period_pred,
            threshold=hold_percent,
        )
    )
    return rules
