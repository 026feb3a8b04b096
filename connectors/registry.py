"""The connector registry: the built-ins (`connectors/<name>.py`, found by `builtins()`) plus any
installed package's `benefits.connectors` entry points.

A site can `pip install` its own connector package; its entry point
`[project.entry-points."benefits.connectors"] my_system = "my_pkg.connector:MyConnector"`
makes `connector: my_system` usable in that site's config. A site config may also name a class
directly as `connector: my_pkg.connector:MyConnector` (handy before the package is installed).
"""

from __future__ import annotations

import ast
import importlib
import logging
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path

from connectors.base import Connector, ConnectorError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "benefits.connectors"

@lru_cache(maxsize=1)
def builtins() -> dict[str, str]:
    """name -> import target of each connector this package holds, found rather than listed: the
    module `connectors/<name>.py` holds the class whose `name` is "<name>". Read with `ast`, so
    listing imports no connector's dependencies."""
    return connector_modules(Path(__file__).parent, __package__)


def connector_modules(folder: Path, package: str) -> dict[str, str]:
    found = {}
    for path in sorted(folder.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and _declared_name(node) == path.stem:
                found[path.stem] = f"{package}.{path.stem}:{node.name}"
    return found


def _declared_name(cls: ast.ClassDef) -> str | None:
    for stmt in cls.body:
        if (isinstance(stmt, ast.Assign) and [getattr(t, "id", None) for t in stmt.targets] == ["name"]
                and isinstance(stmt.value, ast.Constant)):
            return stmt.value.value
    return None


def _load(target: str) -> type[Connector]:
    module, _, attr = target.partition(":")
    try:
        mod = importlib.import_module(module)
        cls = getattr(mod, attr)
    except (ImportError, AttributeError) as e:
        raise ConnectorError(f"cannot load connector {target}: {type(e).__name__}: {e}") from None
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConnectorError(f"{target} is not a Connector subclass")
    return cls


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> dict[str, str]:
    """name -> import target; installed packages may add names but never replace a built-in."""
    return {**_entry_points(), **builtins()}


def get_connector(name: str) -> type[Connector]:
    if ":" in name:
        return _load(name)
    targets = available()
    if name not in targets:
        raise ConnectorError(f"unknown connector {name!r}; available: {', '.join(sorted(targets))}")
    return _load(targets[name])


def describe_all() -> list[dict]:
    """Every connector's info (name, dataset, config fields, secrets); a broken plug-in is listed
    with its error rather than hiding the others."""
    out = []
    for name, target in sorted(available().items()):
        try:
            info = _load(target).info()
            info["name"] = name
            info["origin"] = "built-in" if name in builtins() else f"plug-in ({target})"
        except ConnectorError as e:
            info = {"name": name, "origin": f"plug-in ({target})", "error": str(e)}
        out.append(info)
    return out
