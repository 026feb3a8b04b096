"""The configuration a source's rows were shaped by, as one comparable string.

A loaded row is the product of its extract *and* of the configuration that turned the extract
into contract rows: the column mapping, date formats, code maps, connector options and the
dataset contract. Each batch records this string (meta.load_batch.config_hash), so a run can
tell that rows loaded earlier are stale although their files have not changed (issue 15 #3).

The string is `part=hash;part=hash;...`, a short hash per part, so that a change can be named
("column mapping", "code map of status") without keeping the configuration itself in the
warehouse: it may hold paths, and must never hold a secret.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from connectors.base import Connector
from dataset_contracts.contracts import Contract

_LABELS = {
    "columns": "column mapping",
    "formats": "date formats",
    "options": "connector options",
    "connector": "connector",
    "dataset": "dataset",
    "contract": "dataset contract",
}
_CODE_MAP = "code_map."


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _contract_signature(contract: Contract) -> dict:
    """What in a contract decides a loaded row; descriptions are left out, so rewording the
    documentation does not reload every source."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "description"}
        if isinstance(value, list | tuple):
            return [strip(v) for v in value]
        return value

    return strip(dataclasses.asdict(contract))


def config_hash(connector: Connector, mappings: dict) -> str:
    """The source's effective row-shaping configuration: `part=hash;...`, parts in name order."""
    config = connector.config
    secret = {name.split(".")[0] for name in type(config).secret_fields()}
    skip = {"columns", "formats"} | set(connector.fetch_options) | secret
    options = {k: v for k, v in config.model_dump(mode="json").items() if k not in skip}
    parts = {
        "connector": connector.name,
        "dataset": connector.contract.name,
        "contract": _contract_signature(connector.contract),
        "columns": config.columns,
        "formats": config.formats,
        "options": options,
    }
    for column, mapping in mappings.items():
        # a list names the allowed codes: their order means nothing, so reordering is no change
        parts[_CODE_MAP + column] = mapping if isinstance(mapping, dict) else sorted(map(str, mapping))
    return ";".join(f"{name}={_digest(value)}" for name, value in sorted(parts.items()))


# the order a change is told in: what a site edits most first
_ORDER = ("columns", "formats", _CODE_MAP, "options", "connector", "dataset", "contract")


def _rank(name: str) -> tuple[int, str]:
    part = _CODE_MAP if name.startswith(_CODE_MAP) else name
    return (_ORDER.index(part) if part in _ORDER else len(_ORDER), name)


def _parse(value: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in value.split(";") if "=" in part)


def changed_parts(old: str, new: str) -> list[str]:
    """What differs between two config hashes, in words: ['column mapping', 'code map of status']."""
    before, after = _parse(old), _parse(new)
    names = sorted((n for n in before.keys() | after.keys() if before.get(n) != after.get(n)), key=_rank)
    return [f"code map of {n[len(_CODE_MAP):]}" if n.startswith(_CODE_MAP) else _LABELS.get(n, n) for n in names]


def loaded_config(wh, site_code: str, source_name: str) -> tuple[bool, str | None]:
    """(whether the source has loaded rows, the config hash its latest load recorded).

    Only loads count: a failed or held extract changed no rows, so it must not stand for the
    configuration the staging rows were shaped by. Quarantine releases keep their original
    batch's rows and record no configuration of their own.
    """
    row = wh.query(
        "select config_hash from meta.load_batch where site_code = :s and source_name = :n and status = 'loaded' "
        "and connector <> 'quarantine-release' order by loaded_at desc limit 1",
        {"s": site_code, "n": source_name},
    )
    if row.empty:
        return False, None
    value = row["config_hash"].iloc[0]
    return True, (value if isinstance(value, str) else None)


def loaded_months(wh, site_code: str, source_name: str) -> tuple[str, str] | None:
    """First and last month (YYYY-MM) the source's loaded rows cover, for a backfill's --from/--to."""
    first, last = wh.query(
        "select min(period_start) as f, max(period_end) as l from meta.load_batch "
        "where site_code = :s and source_name = :n and status = 'loaded'",
        {"s": site_code, "n": source_name},
    ).iloc[0]
    if first is None or last is None or first != first or last != last:  # NaT/NaN when nothing is dated
        return None
    return f"{first:%Y-%m}", f"{last:%Y-%m}"
