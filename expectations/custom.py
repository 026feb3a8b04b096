"""The one expectation the pipeline adds to Great Expectations: a row rule that only counts.

GX's `UnexpectedRowsExpectation` also fetches the unexpected rows (`select *` of every failing
row) even when the result format never shows them. With a buffered DuckDB cursor or a
client-side PostgreSQL cursor that means every failing row of a 10M-row batch in memory, and
patient-level values in a result object. This subclass asks GX for the count metric alone, so
the query is a single `count(*)` in the warehouse. Rendering (Data Docs) is inherited.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations.core.unexpected_rows_expectation import UnexpectedRowsExpectation


class ExpectNoUnexpectedRows(UnexpectedRowsExpectation):
    """No row of the batch matches `unexpected_rows_query`; reports how many do (never which)."""

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count",)

    def _validate(
        self, metrics: dict, runtime_configuration: dict | None = None, execution_engine=None
    ) -> dict[str, Any]:
        count = metrics["unexpected_rows_query.row_count"]
        return {"success": count == 0, "result": {"observed_value": count}}
