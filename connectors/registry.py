"""The connector registry: built-ins plus any installed package's `benefits.connectors` entry points.

A site can `pip install` its own connector package; its entry point
`[project.entry-points."benefits.connectors"] my_system = "my_pkg.connector:MyConnector"`
makes `connector: my_system` usable in that site's config.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from connectors.base import Connector, ConnectorError

ENTRY_POINT_GROUP = "benefits.connectors"

BUILTINS = {
    "files": "connectors.files:FilesConnector",
}


def _load(target: str) -> type[Connector]:
    module, _, attr = target.partition(":")
    mod = __import__(module, fromlist=[attr])
    cls = getattr(mod, attr)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConnectorError(f"{target} is not a Connector subclass")
    return cls


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> dict[str, str]:
    """name -> import target; installed packages may add names but never replace a built-in."""
    return {**_entry_points(), **BUILTINS}


def get_connector(name: str) -> type[Connector]:
    targets = available()
    if name not in targets:
        raise ConnectorError(f"unknown connector {name!r}; available: {', '.join(sorted(targets))}")
    return _load(targets[name])
