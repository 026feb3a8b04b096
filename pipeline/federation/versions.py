"""The contract and measure-definition versions a package declares, computed the same way on both sides.

A version is the sha256 of what decides the numbers: a dataset contract's columns and rules
(descriptions left out, so rewording documentation is not a new version) and a national
measure's SQL file, byte for byte. The collector accepts only the versions it runs itself, so
that every site's figures in the national mart were computed by the same definitions.
"""

from __future__ import annotations

import hashlib
import json

from dataset_contracts.contracts import CONTRACTS
from pipeline.ingest.config_hash import _contract_signature
from pipeline.marts.build import national_measures


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def contract_versions() -> dict[str, str]:
    """dataset -> sha256 of its contract's columns and rules."""
    return {
        name: _sha256(json.dumps(_contract_signature(c), sort_keys=True, default=str).encode("utf-8"))
        for name, c in sorted(CONTRACTS.items())
    }


def measure_versions() -> dict[str, str]:
    """national measure code -> sha256 of its SQL file."""
    return {m.code: _sha256(m.path.read_bytes()) for m in national_measures() if m.path is not None}
