"""The SQL warehouse: engine, DDL, bulk loads and SQL models."""

from pipeline.warehouse.core import Warehouse, ident, redact_url, sql_literal

__all__ = ["Warehouse", "ident", "redact_url", "sql_literal"]
