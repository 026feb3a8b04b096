"""The dataset tables of sql/models/sources.yml, written from the dataset contracts by `benefits docs`.

dbt reads only what the YAML declares, so a new contract's staging and quarantine tables are
written into it rather than listed by hand (the runner resolves `source()` from the same file).
"""

from __future__ import annotations

import json
from pathlib import Path

from dataset_contracts.contracts import CONTRACTS
from pipeline.config.generated import fill_blocks
from pipeline.warehouse.models import models_root


def _tables(what: str):
    def body() -> str:
        return "".join(f"- name: {name}\n  description: {json.dumps(f'{CONTRACTS[name].description}: {what}')}\n"
                       for name in sorted(CONTRACTS))
    return body


def generate(path: Path | None = None) -> str:
    path = path or sources_yml()
    return fill_blocks(path.read_text(encoding="utf-8"), {
        "staging-tables": _tables("the rows that passed its rules"),
        "quarantine-tables": _tables("the rows its rules held back"),
    }, str(path))


def sources_yml() -> Path:
    return models_root() / "sources.yml"
