"""Run a dataset's rules with Great Expectations, as SQL inside the warehouse.

The batch is already in the warehouse (a landing table or view), so GX evaluates every
expectation as a query there instead of pulling rows into pandas. Results are matched to rules
by the `rule` name in each expectation's meta, never by position (GX reorders them).
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from dataclasses import dataclass
from typing import Any

from expectations.rules import Rule, build_suite
from expectations.buffered_duckdb import register as register_buffered_duckdb

log = logging.getLogger(__name__)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
COUNTING_TYPES = ("UnexpectedRowsExpectation", "ExpectNoUnexpectedRows")


def short_description(text: str, limit: int = 200) -> str:
    """What may be stored about an error: its first line, quoted values masked, truncated.

    meta.dq_result is read by people who may not see patient data, and engine errors quote
    the offending value ("Could not convert string 'RF4-P001' ..."), so literals never pass.
    """
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else "error"
    return _QUOTED.sub("'…'", first)[:limit]


class ValidationRun(list):
    """The per-rule results (a list of RuleResult), plus GX's own result object for Data Docs."""

    gx_result: Any = None
    suite_name: str | None = None


@dataclass
class RuleResult:
    rule: Rule
    element_count: int
    unexpected_count: int | None
    observed_value: str | None
    exception: str | None = None
    success: bool | None = None  # GX's own verdict, used for table-level rules

    @property
    def unexpected_percent(self) -> float | None:
        if self.unexpected_count is None or not self.element_count:
            return None if self.unexpected_count is None else 0.0
        return 100.0 * self.unexpected_count / self.element_count

    @property
    def passed(self) -> bool:
        if self.exception:
            return False
        if self.unexpected_count is None:
            return bool(self.success)
        return self.unexpected_count == 0

    @property
    def holds_batch(self) -> bool:
        """Does this result stop the batch from loading?"""
        if self.rule.severity == "fatal":
            return not self.passed
        if self.rule.severity == "error" and self.exception:
            return True
        if self.rule.severity == "error" and self.rule.threshold is not None:
            pct = self.unexpected_percent
            return pct is not None and pct > self.rule.threshold
        return False

    def describe(self) -> str:
        if self.exception:
            return f"{self.rule.name}: could not be evaluated ({self.exception})"
        if self.rule.severity == "fatal":
            return f"{self.rule.name}: {self.rule.description} (observed {self.observed_value})"
        return (
            f"{self.rule.name}: {self.unexpected_count} of {self.element_count} rows "
            f"({self.unexpected_percent:.2f}%) fail: {self.rule.description}"
        )


def hold_reasons(results: list[RuleResult], malformed: list | None = None) -> list[str]:
    """Why the batch is held, one sentence per rule that holds it; malformed lines first.

    `malformed` (dataset_contracts.malformed.MalformedLine) are rows with no values: they also
    fail `values_parse_as_contract_types` and every not-null rule, so those rules hold the batch
    only when they would without them: 4% malformed lines plus 2% missing ward codes is not a
    ward-code problem over the threshold. The first line is named (file and line, no values)."""
    m = len(malformed or [])
    out = []
    for r in results:
        if m and not r.exception and r.rule.threshold is not None and r.unexpected_count is not None and (
            r.rule.name == "values_parse_as_contract_types" or r.rule.gx_type == "ExpectColumnValuesToNotBeNull"
        ):
            if r.element_count and 100.0 * (r.unexpected_count - m) / r.element_count > r.rule.threshold:
                out.append(r.describe())
            continue
        if not r.holds_batch:
            continue
        if m and r.rule.name == "malformed_line":
            out.insert(0, f"{r.describe()} (first: {malformed[0].where})")
        else:
            out.append(r.describe())
    return out


def quiet_gx_logging() -> None:
    """GX logs at INFO for every batch and context it touches (the pipeline records results
    itself), and pins some of its module loggers at INFO when imported, so a command's own
    logging level never reaches them: let those inherit, and keep GX at WARNING or above."""
    gx_logger = logging.getLogger("great_expectations")
    gx_logger.setLevel(max(gx_logger.getEffectiveLevel(), logging.WARNING))
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith("great_expectations.") and isinstance(logger, logging.Logger):
            if logging.NOTSET < logger.level < logging.WARNING:
                logger.setLevel(logging.NOTSET)


class GXValidator:
    """One ephemeral GX context and one SQL data source per warehouse, reused for every batch."""

    _lock = threading.Lock()

    def __init__(self, connection_string: str, engine_kwargs: dict | None = None):
        import great_expectations as gx

        from great_expectations.data_context.types.base import ProgressBarsConfig

        register_buffered_duckdb()
        # GX suggests its PostgreSQL-specific data source on every asset; the generic one is deliberate
        # (one code path for both warehouses).
        warnings.filterwarnings("ignore", message="You are using a generic SQLDatasource")
        quiet_gx_logging()
        self.context = gx.get_context(mode="ephemeral")
        # GX draws tqdm bars on stderr for every batch; the pipeline reports progress itself.
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.datasource = self.context.data_sources.add_sql(
            name="warehouse", connection_string=connection_string, kwargs=engine_kwargs or {}
        )

    def close(self) -> None:
        """Close GX's own connections to the warehouse (an embedded DuckDB file is checkpointed)."""
        self.datasource.get_engine().dispose()

    def validate(
        self, schema: str, table: str, rules: list[Rule], row_count: int, suite_name: str | None = None
    ) -> ValidationRun:
        """Validate `schema.table` with `rules`; one RuleResult per rule, in the rules' order."""
        suite = build_suite(suite_name or f"{table}_suite", rules)
        with self._lock:
            asset = self.datasource.add_table_asset(name=table, table_name=table, schema_name=schema)
            try:
                batch = asset.add_batch_definition_whole_table("whole").get_batch()
                # BASIC with no partial list: counts only, never example values (they are patient data).
                result = batch.validate(suite, result_format={"result_format": "BASIC", "partial_unexpected_count": 0})
            finally:
                self.datasource.delete_asset(table)
        by_rule = {r.expectation_config.meta["rule"]: r for r in result.results}
        out = ValidationRun()
        out.gx_result, out.suite_name = result, suite.name
        for rule in rules:
            r = by_rule.get(rule.name)
            if r is None:
                out.append(RuleResult(rule, row_count, None, None, "no result returned"))
                continue
            exc = _exception(rule, r)
            unexpected, observed = _counts(rule, r, row_count)
            out.append(
                RuleResult(
                    rule,
                    element_count=row_count,
                    unexpected_count=unexpected,
                    observed_value=None if observed is None else str(observed),
                    exception=exc,
                    success=bool(r.success),
                )
            )
        return out


def _exception(rule: Rule, r) -> str | None:
    """Why GX could not evaluate a rule (its own exception, or one a metric raised), shortened; None when it could."""
    info = r.exception_info or {}
    exc = None
    if info.get("raised_exception"):
        exc = str(info.get("exception_message"))
    elif isinstance(info, dict) and any(isinstance(v, dict) and v.get("raised_exception") for v in info.values()):
        exc = next(str(v.get("exception_message")) for v in info.values() if isinstance(v, dict) and v.get("raised_exception"))
    if exc:
        log.debug("rule %s could not be evaluated: %s", rule.name, exc)
        exc = short_description(exc)
        log.warning("rule %s could not be evaluated: %s", rule.name, exc)
    return exc


def _counts(rule: Rule, r, row_count: int) -> tuple:
    """(unexpected count, observed value) of one expectation's result, read the way each kind of rule reports them."""
    res = r.result or {}
    unexpected = res.get("unexpected_count")
    observed = res.get("observed_value")
    if rule.gx_type in COUNTING_TYPES:
        unexpected = observed if isinstance(observed, int) else unexpected
        observed = None
    if rule.gx_type == "ExpectTableRowCountToBeBetween":
        observed = observed if observed is not None else row_count
    if rule.gx_type == "ExpectTableColumnsToMatchSet":
        missing = sorted(set(rule.gx_kwargs["column_set"]) - set(observed or []))
        observed = f"missing: {', '.join(missing)}" if missing else "all present"
    return unexpected, observed
