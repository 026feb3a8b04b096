"""Validate a file against a dataset contract without a warehouse (`benefits validate`).

The file goes through exactly what a batch goes through: the files connector reads it, harmonise
types it (and reports schema drift), Great Expectations runs the dataset's suite as SQL, and the
quarantine predicates count the rows that would be quarantined. Only the warehouse is a scratch
DuckDB file in a temporary folder, so a site developer can check an extract before configuring
anything. With a site config, its column names, formats and code mappings apply.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from connectors.base import ExtractContext
from connectors.registry import get_connector
from dataset_contracts.contracts import get_contract
from expectations.rules import DEFAULT_HOLD_PERCENT, build_rules
from expectations.runner import GXValidator, RuleResult, hold_reasons

REPORT_KEYS = ("total_rows", "valid_rows", "quarantined_rows", "expectations")


@dataclass
class FileReport:
    dataset: str
    input: str
    total_rows: int
    quarantined_rows: int
    results: list[RuleResult]
    drift: list[dict] = field(default_factory=list)  # {"kind", "column", "severity", "message"}
    hold_reasons: list[str] = field(default_factory=list)

    @property
    def valid_rows(self) -> int:
        return self.total_rows - self.quarantined_rows

    @property
    def held(self) -> bool:
        return bool(self.hold_reasons)

    @property
    def ok(self) -> bool:
        """No fatal or error rule failed and no drift holds the batch (warnings allowed)."""
        return not self.held and all(r.passed for r in self.results if r.rule.severity != "warning")

    def result(self, name: str) -> RuleResult:
        for r in self.results:
            if r.rule.name == name:
                return r
        raise KeyError(f"no rule {name!r} in the {self.dataset} suite")

    def failed(self) -> dict[str, int | None]:
        return {r.rule.name: r.unexpected_count for r in self.results if not r.passed}

    def to_json(self) -> dict:
        return {
            "dataset": self.dataset,
            "input": self.input,
            "total_rows": self.total_rows,
            "valid_rows": self.valid_rows,
            "quarantined_rows": self.quarantined_rows,
            "held": self.held,
            "hold_reasons": self.hold_reasons,
            "schema_drift": self.drift,
            "expectations": [
                {
                    "name": r.rule.name,
                    "category": r.rule.category,
                    "severity": r.rule.severity,
                    "description": r.rule.description,
                    "expectation_type": r.rule.gx_type,
                    "unexpected_count": r.unexpected_count,
                    "unexpected_percent": None if r.unexpected_percent is None else round(r.unexpected_percent, 4),
                    "threshold_percent": r.rule.threshold,
                    "observed_value": r.exception or r.observed_value,
                    "passed": r.passed,
                }
                for r in self.results
            ],
        }


def _source_options(site, dataset: str, source_name: str | None) -> dict:
    """The options (all but the path) of the site's source of this dataset, the named one if given."""
    if site is None:
        return {}
    sources = [s for s in site.sources if s.dataset == dataset and (not source_name or s.name == source_name)]
    return {k: v for k, v in sources[0].options.items() if k != "path"} if sources else {}


class FileValidator:
    """Validates files in a scratch DuckDB; keep one for many files (GX starts once)."""

    def __init__(self, work_dir: Path | None = None, duckdb_memory: str = "1GB"):
        from pipeline.warehouse.core import Warehouse

        self._tmp = None if work_dir else tempfile.TemporaryDirectory(prefix="benefits-validate-")
        self.work_dir = Path(work_dir) if work_dir else Path(self._tmp.name)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.duckdb_memory = duckdb_memory
        self.warehouse = Warehouse(f"duckdb:///{self.work_dir / 'validate.duckdb'}", duckdb_memory)
        self.warehouse.execute("create schema if not exists landing")
        self.validator = GXValidator(self.warehouse.gx_connection_string, self.warehouse.engine_kwargs)
        self._count = 0

    def validate(
        self,
        dataset: str,
        path: str | Path,
        *,
        site=None,
        source_name: str | None = None,
        as_of: dt.datetime | None = None,
        options: dict | None = None,
    ) -> FileReport:
        """Validate one file (CSV, Parquet or XLSX), or a glob of files, as a batch of `dataset`.

        `site` (a SiteConfig) supplies the source's options (column names, formats) and the
        dataset's code mappings; `options` adds or overrides files-connector options.
        """
        from pipeline.ingest.landing import create_landing, drop_landing
        from pipeline.ingest.load import count_failing

        contract = get_contract(dataset)
        mappings = site.mapping(contract.name) if site is not None else {}
        hold = site.quality.hold_above_percent if site is not None else DEFAULT_HOLD_PERCENT
        harmonised = self.harmonise(dataset, path, site=site, source_name=source_name, options=options)
        tag = harmonised.path.parent.name
        path = Path(path).resolve()
        wh = self.warehouse
        rules = build_rules(
            contract, mappings=mappings, as_of=as_of, hold_percent=hold, site_code=site.ods_code if site is not None else None
        )
        table = create_landing(wh, tag, harmonised.path, contract)
        try:
            results = self.validator.validate("landing", table.split(".")[1], rules, harmonised.rows, contract.name)
            failing = count_failing(wh, table, rules, contract)
        finally:
            drop_landing(wh, tag)
        holds = [d.message for d in harmonised.held_by_drift] + hold_reasons(results, harmonised.malformed)
        return FileReport(
            dataset=contract.name,
            input=path.name,
            total_rows=harmonised.rows,
            quarantined_rows=failing,
            results=list(results),
            drift=[
                {"kind": d.kind, "column": d.column, "severity": d.severity, "message": d.message}
                for d in harmonised.drift
            ],
            hold_reasons=holds,
        )

    def harmonise(self, dataset: str, path: str | Path, *, site=None, source_name: str | None = None, options=None):
        """Read and harmonise one file as ingest would; returns dataset_contracts.conform.Harmonised."""
        from dataset_contracts.conform import harmonise

        contract = get_contract(dataset)
        path = Path(path).resolve()
        if not path.is_file() and not any(ch in path.name for ch in "*?["):
            raise FileNotFoundError(f"no such file: {path}")
        opts = {**_source_options(site, contract.name, source_name), **(options or {}), "path": str(path)}
        self._count += 1
        work = self.work_dir / hashlib.sha256(f"{path}|{self._count}".encode()).hexdigest()[:16]
        ctx = ExtractContext(
            site_code=site.ods_code if site is not None else "",
            dataset=contract.name,
            source_name=source_name or "validate",
            work_dir=work,
        )
        con = duckdb.connect(config={"memory_limit": self.duckdb_memory, "temp_directory": str(self.work_dir)})
        try:
            connector = get_connector("files")(opts, ctx)
            rel = connector.relation(con)
            return harmonise(
                con,
                rel,
                contract,
                site_code=site.ods_code if site is not None else None,
                mappings=site.mapping(contract.name) if site is not None else {},
                file_columns=connector.file_columns,
                out_path=work / "batch.parquet",
                formats=connector.config.formats,
                malformed=connector.malformed_lines,
            )
        finally:
            con.close()

    def close(self) -> None:
        self.warehouse.dispose()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> FileValidator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
