"""The base class's extraction loop: mixed batches, bounded memory, retries, timeouts, secrets."""

from __future__ import annotations

import time

import pandas as pd
import pyarrow as pa
import pytest
from pydantic import Field, SecretStr

from connectors.base import Connector, ConnectorConfig, ConnectorError, TransientError, secret_field
from connectors.runner import run_connector


class ToyConfig(ConnectorConfig):
    token: SecretStr = secret_field(default="env:TOY_TOKEN", description="API token")
    batches_out: int = Field(default=3, description="how many batches")
    fail: str | None = Field(default=None, description="how to fail")


def incident(i: int, **extra) -> dict:
    return {"incident_id": f"I{i}", "site_code": "RF4", "ward_code": "W01", "occurred_at": f"2024-03-0{i % 9 + 1} 10:00:00",
            "reported_at": f"2024-03-0{i % 9 + 1} 11:00:00", "category": "fall", "harm_level": "low", **extra}


class ToyConnector(Connector):
    name = "toy"
    dataset = "patient_safety_incidents"
    config_model = ToyConfig
    replication_key = "reported_at"
    attempts = 0

    def batches(self):
        type(self).attempts += 1
        fail = self.config.fail
        if fail == "library":
            self.call(lambda: (_ for _ in ()).throw(ValueError(f"server said: token {self.token} rejected")))
        if fail == "slow":
            time.sleep(0.3)
            self._check_deadline()
        # 1: dicts with an all-null column; 2: a DataFrame where that column is text;
        # 3: an Arrow batch with an extra column and a different type for another
        yield [incident(1, medication_stage=None), incident(2, medication_stage=None)]
        if fail == "midstream" and type(self).attempts == 1:
            raise TransientError("connection dropped mid-stream")
        yield pd.DataFrame([incident(3, medication_stage="administration"), incident(4, medication_stage=None)])
        rb = pa.RecordBatch.from_pylist([incident(5, medication_stage="dispensing", extra_col=7)])
        yield rb

    @property
    def token(self) -> str:
        from connectors.base import resolve_secret

        return resolve_secret(self.config.token)


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("TOY_TOKEN", "toy-token-secret-3141")
    ToyConnector.attempts = 0


def test_batches_of_differing_schemas_and_all_null_columns():
    result = run_connector(ToyConnector, {}, collect=True)
    assert result.rows == 5 and result.conform_errors == 0
    stages = dict(zip(result.table.column("incident_id").to_pylist(), result.table.column("medication_stage").to_pylist()))
    assert stages == {"I1": None, "I2": None, "I3": "administration", "I4": None, "I5": "dispensing"}
    assert result.new_state == {"replication_key": "reported_at", "replication_key_value": "2024-03-06 11:00:00"}


def test_only_rows_past_the_watermark():
    state = {"replication_key": "reported_at", "replication_key_value": "2024-03-04 11:00:00"}
    result = run_connector(ToyConnector, {}, state=state, collect=True)
    assert sorted(result.table.column("incident_id").to_pylist()) == ["I4", "I5"]


def test_a_failure_mid_stream_restarts_the_pass_without_duplicates():
    result = run_connector(ToyConnector, {"fail": "midstream", "backoff_seconds": 0.01}, collect=True)
    assert result.rows == 5 and ToyConnector.attempts == 2 and result.connector.retries_done == 1


def test_max_runtime_is_enforced():
    with pytest.raises(TransientError, match="took longer than 0.1 s"):
        run_connector(ToyConnector, {"fail": "slow", "max_runtime_seconds": 0.1})


def test_a_secret_in_a_library_error_is_redacted():
    with pytest.raises(ConnectorError) as e:
        run_connector(ToyConnector, {"fail": "library"})
    assert "toy-token-secret-3141" not in str(e.value) and "***" in str(e.value)
    assert str(e.value).startswith("toy:extract: ValueError")


def test_unset_env_secret_is_named():
    import os

    del os.environ["TOY_TOKEN"]
    with pytest.raises(ConnectorError, match="env:TOY_TOKEN but TOY_TOKEN is not set"):
        run_connector(ToyConnector, {"fail": "library"})


class BigConnector(Connector):
    name = "big"
    dataset = "patient_safety_incidents"
    peak = 0

    def batches(self):
        n = self.config.batch_size
        for b in range(12):
            type(self).peak = max(type(self).peak, pa.total_allocated_bytes())
            yield pa.RecordBatch.from_pydict({
                "incident_id": pa.array([f"I{b}-{i}" for i in range(n)]),
                "site_code": pa.array(["RF4"] * n), "ward_code": pa.array(["W01"] * n),
                "occurred_at": pa.array(["2024-03-01 10:00:00"] * n), "reported_at": pa.array(["2024-03-01 11:00:00"] * n),
                "category": pa.array(["fall"] * n), "harm_level": pa.array(["low"] * n),
            })  # fmt: skip


def test_extract_streams_with_bounded_memory(tmp_path):
    one_batch = 10_000 * 7 * 30  # rough bytes of one batch
    BigConnector.peak = 0
    result = run_connector(BigConnector, {"batch_size": 10_000}, output=tmp_path / "out.parquet")
    assert result.rows == 120_000
    # the base class keeps no batch once it is spooled: Arrow memory never nears the whole extract
    assert BigConnector.peak < 4 * one_batch, BigConnector.peak


def test_load_mode_tells_the_loader_what_a_batch_replaces():
    import datetime as dt

    full = run_connector(ToyConnector, {})
    assert full.connector.load_mode == "replace_months"
    incremental = run_connector(ToyConnector, {}, state=full.new_state)
    assert incremental.connector.load_mode == "merge_by_key"
    backfill = run_connector(ToyConnector, {}, state=full.new_state, period=(dt.date(2024, 3, 1), dt.date(2024, 3, 1)))
    assert backfill.connector.load_mode == "replace_months"
