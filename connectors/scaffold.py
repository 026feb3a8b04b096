"""`benefits connectors new NAME`: a working connector to start from, with its one-line test.

The scaffold reads a JSON-lines export (sample rows that fit the chosen contract are written
beside it), so the generated test passes before a line is changed; the site developer then
replaces `batches()` with calls to the real system.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from dataset_contracts.contracts import get_contract

MODULE = '''"""`{name}`: rows of `{dataset}` from <your system>. Scaffolded by `benefits connectors new`.

Replace the body of `batches()` with calls to your system (its API client, its database
driver, its export folder). Keep each request inside `self.call(...)`: the base class retries
it when it fails transiently (connection refused, timeout) and gives up with a clear message
otherwise. Yield rows in bounded batches (lists of dicts, pandas DataFrames or Arrow record
batches); the base class spools them, keeps only rows past the replication watermark and
saves the new watermark when the load commits.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field, SecretStr

from connectors import Connector, ConnectorConfig, ConnectorError, secret_field


class {cls}Config(ConnectorConfig):
    path: str = Field(description="JSON-lines export to read (relative to the site config)")
    api_token: SecretStr | None = secret_field(
        default=None, description="token for the system's API, if it needs one (or env:VAR_NAME)"
    )


def read_lines(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    raise ConnectorError(f"{{path.name}}: line {{number}}: not JSON ({{e}})") from None
    return rows


class {cls}Connector(Connector):
    name = "{name}"
    dataset = "{dataset}"
    replication_key = "{replication_key}"  # a column that only grows: each run takes rows past the last one
    config_model = {cls}Config
    description = "{dataset} from <your system>"
    config: {cls}Config

    def source_label(self) -> str:
        return self.config.path

    def batches(self):
        path = self.resolve_path(self.config.path)
        rows = self.call(read_lines, path, what="read the export")
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= self.config.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch
'''

TEST = '''from connectors.testing import connector_tests
from {name} import {cls}Connector

Test{cls} = connector_tests({cls}Connector, config="{name}.example.json")
'''


def class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def sample_rows(dataset: str, n: int = 6) -> list[dict]:
    """Rows that satisfy the contract: distinct keys, codes from its value sets, ordered times."""
    contract = get_contract(dataset)
    keys = {k.strip() for k in contract.key.split(",")}
    rows = []
    for i in range(n):
        when = dt.datetime(2024, 4, 1, 9, 0) + dt.timedelta(days=i, hours=i)
        row = {}
        for col in contract.columns:
            if col.values:
                value = col.values[i % len(col.values)]
            elif col.type == "timestamp":
                value = when.isoformat(sep=" ")
            elif col.type == "date":
                value = dt.date(2024 + (3 + i) // 12, (3 + i) % 12 + 1, 1).isoformat()
            elif col.type == "bigint":
                value = 100 - i
            elif col.type == "double":
                value = 1.5 * (i + 1)
            elif col.type == "boolean":
                value = i % 2 == 0
            elif col.name in keys:
                value = f"{col.name.split('_')[0].upper()}-{i + 1:04d}"
            elif col.name in ("site_code", "org_code"):
                value = "XYZ"
            else:
                value = f"{col.name.split('_')[0].upper()}{i % 3 + 1}"
            row[col.name] = value
        rows.append(row)
    return rows


def scaffold(name: str, dataset: str, directory: Path, *, force: bool = False) -> list[Path]:
    contract = get_contract(dataset)
    cls = class_name(name)
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        directory / f"{name}.py": MODULE.format(
            name=name, cls=cls, dataset=dataset, replication_key=contract.period_column
        ),
        directory / f"{name}.example.json": json.dumps({"path": f"{name}_sample.jsonl"}, indent=2) + "\n",
        directory / f"{name}_sample.jsonl": "".join(json.dumps(r) + "\n" for r in sample_rows(dataset)),
        directory / f"test_{name}.py": TEST.format(name=name, cls=cls),
    }
    if not force:
        for path in files:
            if path.exists():
                raise FileExistsError(str(path))
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)
