"""Connectors: pluggable extractors from trust systems onto dataset contracts."""

from connectors.base import (
    Connector,
    ConnectorConfig,
    ConnectorError,
    ExtractContext,
    TransientError,
    resolve_secret,
    secret_field,
)
from connectors.registry import available, get_connector

__all__ = [
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "ExtractContext",
    "TransientError",
    "available",
    "get_connector",
    "resolve_secret",
    "secret_field",
]
