"""Great Expectations Data Docs: every batch's validation, browsable as HTML.

Ingest keeps each batch's GX validation result (JSON, counts only: the pipeline validates with
the BASIC result format and no example values) in a filesystem store under BENEFITS_HOME/gx;
GX's own site builder renders them into `Settings.data_docs_dir` (BENEFITS_HOME/data_docs).
Building is incremental: each batch's page is rendered as the batch is published, and the
index (which reads every validation it lists) once at the end of the run.

The index lists one expectation suite per dataset contract (the contract's rules without any
site's mappings) and every validation, named by batch id (GX's "run name") and `<site>-<source>`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

from dataset_contracts.contracts import CONTRACTS
from expectations.rules import build_rules, build_suite
from expectations.runner import quiet_gx_logging

log = logging.getLogger(__name__)
SITE_NAME = "benefits"
# The index and the pages cover the most recent validations; older JSON stays in the store.
VALIDATIONS_SHOWN = 2000
_lock = threading.Lock()
_contexts: dict[tuple[str, str], DataDocs] = {}


class DataDocs:
    """A GX context whose stores are files under `store_dir` and whose docs site is `docs_dir`."""

    def __init__(self, store_dir: Path, docs_dir: Path):
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            FilesystemStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.store_dir, self.docs_dir = Path(store_dir), Path(docs_dir)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.docs_dir.mkdir(parents=True, exist_ok=True)
        site = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(self.docs_dir)},
            "site_index_builder": {
                "class_name": "DefaultSiteIndexBuilder",
                "validation_results_limit": VALIDATIONS_SHOWN,
            },
            "site_section_builders": {
                "validations": {"validation_results_limit": VALIDATIONS_SHOWN},
            },
        }
        config = DataContextConfig(
            store_backend_defaults=FilesystemStoreBackendDefaults(root_directory=str(self.store_dir)),
            data_docs_sites={SITE_NAME: site},
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        )
        quiet_gx_logging()
        self.context = gx.get_context(project_config=config, mode="ephemeral")
        self._suites_saved = False

    @property
    def index(self) -> Path:
        return self.docs_dir / "index.html"

    def save_suites(self) -> None:
        """One suite per dataset contract, as the contract defines it (no site mappings)."""
        for contract in CONTRACTS.values():
            suite = build_suite(contract.name, build_rules(contract))
            self.context.suites.add_or_update(suite)
        self._suites_saved = True

    def add(
        self, gx_result, *, batch_id: str, site_code: str, source_name: str, dataset: str, when: dt.datetime | None = None
    ):
        """Store one batch's validation result; returns its key for `build`."""
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        if not self._suites_saved:
            self.save_suites()
        when = when or dt.datetime.now(dt.timezone.utc)
        run_id = RunIdentifier(run_name=batch_id, run_time=when)
        gx_result.suite_name = dataset
        gx_result.meta = {
            **(gx_result.meta or {}),
            "run_id": run_id,  # the page's "Run Name" is the batch id, as in the index
            "batch_id": batch_id,
            "site_code": site_code,
            "source_name": source_name,
            "dataset": dataset,
        }
        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=dataset), run_id, f"{site_code}-{source_name}")
        self.context.validation_results_store.set(key, gx_result)
        return key

    def keys_for(self, batch_ids: list[str]) -> list:
        wanted = set(batch_ids)
        return [k for k in self.context.validation_results_store.list_keys() if k.run_id.run_name in wanted]

    def build(self, keys: list | None = None, *, index: bool = True) -> Path:
        """Render `keys` (all validations when None, or when the site does not exist yet) and,
        unless `index` is False, the suites and the index.

        The index reads every validation it lists, so rebuilding it after each batch makes a
        run over many batches quadratic (measured: half of a 600-batch national run). Runs
        render each batch's page as it lands and the index once at the end."""
        if not self._suites_saved:
            self.save_suites()
        if keys is not None and self.index.exists():
            from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

            suites = [ExpectationSuiteIdentifier(name=n) for n in CONTRACTS] if index else []
            if keys or suites:
                self.context.build_data_docs(
                    site_names=[SITE_NAME], resource_identifiers=[*keys, *suites], build_index=index
                )
        else:
            self.context.build_data_docs(site_names=[SITE_NAME])
        return self.index


def data_docs(settings) -> DataDocs:
    """The per-process Data Docs context for these settings (created on first use)."""
    key = (str(settings.home), str(settings.data_docs_dir))
    with _lock:
        if key not in _contexts:
            _contexts[key] = DataDocs(Path(settings.home) / "gx", settings.data_docs_dir)
        return _contexts[key]


def save_validation(settings, results, *, batch_id: str, site_code: str, source_name: str, dataset: str) -> bool:
    """Keep a batch's GX result for Data Docs. Never fails the batch: returns False and logs instead."""
    gx_result = getattr(results, "gx_result", None)
    if gx_result is None:
        return False
    try:
        docs = data_docs(settings)
        with _lock:
            docs.add(gx_result, batch_id=batch_id, site_code=site_code, source_name=source_name, dataset=dataset)
        return True
    except Exception as exc:  # docs are a view on results already in meta.dq_result
        log.warning("could not keep the validation of batch %s for Data Docs: %s", batch_id, exc)
        return False


def build_batch_docs(settings, batch_ids: list[str] | None = None, *, index: bool = True) -> Path | None:
    """Render these batches' pages and, unless `index` is False, the index (everything when
    `batch_ids` is None). `build_batch_docs(settings, [])` renders only the index."""
    try:
        docs = data_docs(settings)
        with _lock:
            return docs.build(None if batch_ids is None else docs.keys_for(batch_ids), index=index)
    except Exception as exc:
        log.warning("could not build Data Docs in %s: %s", settings.data_docs_dir, exc)
        return None
