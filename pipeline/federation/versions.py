"""Versions a package states, computed the same way by the site and the collector.

A contract's version is the sha256 of its definition (columns with their types and rules, key,
pairs, ...) as canonical JSON, so any change a site could make to what it delivers changes the
version and nothing else does. A national measure's version is the sha256 of its SQL file's
bytes: the header and the query together define the figure.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from importlib import metadata

from dataset_contracts.contracts import CONTRACTS, Contract
from pipeline.marts.build import measure_lookup

DISTRIBUTION = "nhs-benefits-pipeline"


def _canonical(value):
    """JSON-ready and order-stable: tuples become lists, sets sorted lists, anything else its repr
    only if it is a plain scalar (an object's default repr would carry a memory address)."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"contract field of type {type(value).__name__} has no stable form for its version")


def contract_version(contract: Contract) -> str:
    text = json.dumps(_canonical(dataclasses.asdict(contract)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def contract_versions() -> dict[str, str]:
    return {name: contract_version(c) for name, c in sorted(CONTRACTS.items())}


def measure_versions() -> dict[str, str]:
    """National measures only: local measures never leave the trust."""
    out = {}
    for code, m in sorted(measure_lookup().items()):
        if m.scope != "national" or m.path is None:
            continue
        out[code] = hashlib.sha256(m.path.read_bytes()).hexdigest()
    return out


def software_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a checkout run without installing it
        return "0+unknown"
