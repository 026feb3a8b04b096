"""Lineage columns: what every extracted, landed, loaded and quarantined row carries besides
its contract columns, defined once for the connectors, the loader and the DDL."""

from __future__ import annotations

LINEAGE_FILE = "_source_file"  # the file (or API page, query) the row came from
LINEAGE_PERIOD = "_period"  # the reporting month the row belongs to

# Every loaded row: (column, logical type in dataset_contracts.contracts.TYPES)
LINEAGE = (
    ("_batch_id", "varchar"),
    ("_site", "varchar"),
    ("_source_name", "varchar"),
    (LINEAGE_FILE, "varchar"),
    (LINEAGE_PERIOD, "date"),
)
LINEAGE_COLUMNS = tuple(name for name, _ in LINEAGE)

# Quarantined rows also say why they were held.
QUARANTINE_EXTRA = (("_failed_rules", "varchar"), ("_conform_errors", "varchar"))
