"""The standard test kit: one line in a connector's test module gives it the standard tests.

    # tests/test_my_system.py
    from connectors.testing import connector_tests
    from my_system import MySystemConnector

    TestMySystem = connector_tests(MySystemConnector, config="my_system.example.json")

pytest then runs, against the connector's fixture: the config schema is valid (every option
described, secrets declared and hidden), at least one batch comes out, the output conforms to
the dataset contract, the primary key is unique, a second run after a full one returns only
new rows, state survives a restart (a JSON round trip into a fresh connector), a transient
error is retried, a permanent error gives a clear message that names the source, and no
secret reaches a log line or an error message.

A static config exercises all of that except "only new rows": to prove that, give a
`SourceFixture` whose `append()` adds rows to the source (the built-in connectors' tests do).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pytest

from connectors.base import Connector, ConnectorError, TransientError
from connectors.registry import get_connector
from connectors.runner import ExtractRun, resolve_dataset, run_connector
from connectors.state import read_state_file, write_state_file


class SourceFixture:
    """What the kit needs to exercise a connector against a real (test) source.

    Override `config()` to set the source up (files in `tmp_path`, a table in a fresh
    database, pages on a local HTTP server) and return the connector's config. Optional:
    `append()` adds new rows and returns how many; `bad_config()` returns a config that must
    fail permanently and words the error message must contain.
    """

    connector: type[Connector]
    dataset: str | None = None
    #: site-style code mappings applied before the contract's value sets are checked
    mappings: dict = {}
    #: pytest fixtures the source needs (e.g. "pg_url"); passed to config() by name
    requires: tuple[str, ...] = ()

    def config(self, tmp_path: Path, **fixtures) -> dict:
        raise NotImplementedError

    def append(self, config: dict, tmp_path: Path, **fixtures) -> int | None:
        """Add new rows to the source; return how many (None: this source cannot)."""
        return None

    def bad_config(self, config: dict, tmp_path: Path, **fixtures) -> tuple[dict, list[str]] | None:
        """A config that must fail permanently, and words its message must contain."""
        return None

    def base_dir(self, tmp_path: Path) -> Path:
        """Where relative paths in the config resolve (a site config's folder, in a real run)."""
        return tmp_path


class StaticFixture(SourceFixture):
    def __init__(self, connector: type[Connector], config: dict | str | Path, dataset: str | None = None,
                 mappings: dict | None = None, base_dir: Path | None = None):
        self.connector = connector
        self.dataset = dataset
        self.mappings = mappings or {}
        self._config = config
        self._base = base_dir

    def config(self, tmp_path: Path, **fixtures) -> dict:
        cfg = self._config
        if isinstance(cfg, str | Path):
            path = Path(cfg)
            if not path.is_absolute() and self._base is not None:
                path = self._base / path
            cfg = json.loads(path.read_text(encoding="utf-8"))
        return dict(cfg)

    def base_dir(self, tmp_path: Path) -> Path:
        cfg = self._config
        if isinstance(cfg, str | Path):
            path = Path(cfg)
            if not path.is_absolute() and self._base is not None:
                path = self._base / path
            return path.resolve().parent
        return self._base or tmp_path


class ConnectorTestKit:
    """The standard tests; `connector_tests()` makes a subclass bound to one fixture."""

    fixture: SourceFixture

    # -- plumbing -------------------------------------------------------------------------------
    def _fixtures(self, request) -> dict:
        return {name: request.getfixturevalue(name) for name in self.fixture.requires}

    def _setup(self, tmp_path: Path, request) -> tuple[dict, dict]:
        fx = self._fixtures(request)
        return self.fixture.config(tmp_path, **fx), fx

    def _run(self, config: dict, tmp_path: Path, state: dict | None = None, **kwargs) -> ExtractRun:
        return run_connector(
            self.fixture.connector,
            config,
            dataset=self.fixture.dataset,
            state=state,
            mappings=self.fixture.mappings,
            work_dir=tmp_path / "work",
            base_dir=self.fixture.base_dir(tmp_path),
            source_name="kit",
            site_code="KIT",
            collect=True,
            **kwargs,
        )

    def _key(self, run: ExtractRun) -> list[str]:
        return list(run.connector.key_columns)

    def _keys(self, run: ExtractRun) -> set[tuple]:
        if run.table is None:
            return set()
        cols = self._key(run)
        data = run.table.select(cols).to_pylist()
        return {tuple(r[c] for c in cols) for r in data}

    # -- the standard tests -----------------------------------------------------------------------
    def test_config_schema_is_valid(self, tmp_path, request):
        cls = self.fixture.connector
        config, _ = self._setup(tmp_path, request)
        assert getattr(cls, "name", None), "a connector declares its registry `name`"
        assert cls.name.isidentifier(), f"connector name {cls.name!r} must be an identifier"
        resolve_dataset(cls, self.fixture.dataset)
        schema = cls.config_model.model_json_schema()
        undescribed = [n for n, f in cls.config_model.model_fields.items() if not f.description]
        assert not undescribed, f"describe every config field (shown by `benefits connectors list`): {undescribed}"
        model = cls.config_model.model_validate(config)
        info = cls.info()
        assert set(info["secret_fields"]) == set(cls.config_model.secret_fields())
        shown = repr(model) + model.model_dump_json()
        for secret in model.secret_values():
            assert secret not in shown, "declare secret fields as SecretStr so their values never print"
        assert schema.get("properties"), "the config schema lists its fields"

    def test_extracts_at_least_one_batch(self, tmp_path, request):
        config, _ = self._setup(tmp_path, request)
        run = self._run(config, tmp_path)
        assert run.rows > 0, "the fixture's source gave no rows"
        json.dumps(run.new_state)  # state must be JSON

    def test_output_conforms_to_contract(self, tmp_path, request):
        config, _ = self._setup(tmp_path, request)
        run = self._run(config, tmp_path)
        contract = run.connector.contract
        table = run.table
        assert table is not None and run.rows > 0
        problems = []
        errors = [e for e in table.column("_conform_errors").to_pylist() if e]
        if errors:
            problems.append(f"{len(errors)} rows do not convert to the contract's types, e.g. {errors[0]}")
        for col in contract.columns:
            problems += _column_problems(col, table.column(col.name).to_pylist())
        assert not problems, f"{contract.name}: " + "; ".join(problems)

    def test_primary_key_is_unique(self, tmp_path, request):
        config, _ = self._setup(tmp_path, request)
        run = self._run(config, tmp_path)
        cols = self._key(run)
        rows = run.table.select(cols).to_pylist()
        keys = [tuple(r[c] for c in cols) for r in rows]
        assert all(all(v is not None for v in k) for k in keys), f"null in the primary key {cols}"
        dupes = [k for k, n in Counter(keys).items() if n > 1]
        assert not dupes, f"primary key {cols} repeats: {dupes[:5]}"

    def test_incremental_run_returns_only_new_rows(self, tmp_path, request):
        config, fx = self._setup(tmp_path, request)
        first = self._run(config, tmp_path)
        if not first.connector.incremental:
            pytest.skip(f"{self.fixture.connector.name} extracts everything every time (no replication key)")
        assert first.rows > 0
        added = self.fixture.append(config, tmp_path, **fx)
        second = self._run(config, tmp_path, state=first.new_state)
        if added is None:
            assert second.rows == 0, "a second run with nothing new must return no rows"
            return
        assert second.rows == added, f"expected exactly the {added} new rows, got {second.rows}"
        assert not (self._keys(first) & self._keys(second)), "the incremental run returned rows of the full run"
        third = self._run(config, tmp_path, state={**first.new_state, **second.new_state})
        assert third.rows == 0, "a third run with nothing new must return no rows"

    def test_state_survives_a_restart(self, tmp_path, request):
        config, _ = self._setup(tmp_path, request)
        state_file = tmp_path / "state.json"
        first = self._run(config, tmp_path, state=read_state_file(state_file))
        assert first.rows > 0
        write_state_file(state_file, first.new_state)
        # a new process: nothing in memory, only what the file says
        restored = read_state_file(state_file)
        assert restored == json.loads(json.dumps(first.new_state, default=str))
        second = self._run(config, tmp_path, state=restored)
        if first.connector.incremental:
            assert second.rows == 0, "after a restart the connector extracted again what it had already delivered"
        else:
            assert second.rows == first.rows

    def test_transient_error_is_retried(self, tmp_path, request):
        config, _ = self._setup(tmp_path, request)
        config = {**config, "backoff_seconds": 0.01, "retries": max(1, int(config.get("retries", 1)))}
        clean = self._run(config, tmp_path)
        assert clean.connector.io_calls > 0, (
            "the connector made no I/O through self.call(); route every request/query through it "
            "so the base class can retry and time it out"
        )
        run = self._run(config, tmp_path, faults=[TransientError("injected outage: connection reset")])
        assert run.connector.retries_done >= 1, "the transient error was not retried"
        assert run.rows == clean.rows

    def test_permanent_error_gives_a_clear_message(self, tmp_path, request):
        config, fx = self._setup(tmp_path, request)
        bad = self.fixture.bad_config(config, tmp_path, **fx)
        cases = []
        if bad is not None:
            cases.append(bad)
        cases.append(({**config, "no_such_option": 1}, ["no_such_option"]))
        for bad_cfg, words in cases:
            with pytest.raises(ConnectorError) as caught:
                self._run({**bad_cfg, "backoff_seconds": 0.01}, tmp_path)
            err = caught.value
            message = str(err)
            assert not err.transient, f"a permanent error was reported as transient: {message}"
            assert self.fixture.connector.name in message, f"the message does not name the connector: {message}"
            assert "kit" in message, f"the message does not name the source: {message}"
            for w in words:
                assert w.lower() in message.lower(), f"expected {w!r} in: {message}"
            conn = getattr(err, "connector", None)
            if conn is not None:
                assert conn.retries_done == 0, "a permanent error was retried"
        # and a permanent failure in the middle of I/O is not retried either
        with pytest.raises(ConnectorError) as caught:
            self._run(config, tmp_path, faults=[ConnectorError("injected: 404 Not Found")])
        assert caught.value.connector.retries_done == 0
        assert str(caught.value).startswith(f"{self.fixture.connector.name}:kit")

    def test_secrets_stay_secret(self, tmp_path, request, caplog):
        config, fx = self._setup(tmp_path, request)
        model = self.fixture.connector.config_model.model_validate(config)
        secrets = model.secret_values()
        if not secrets:
            pytest.skip("the fixture's config carries no secret")
        caplog.set_level(logging.DEBUG)
        messages = []
        self._run({**config, "backoff_seconds": 0.01}, tmp_path, faults=[TransientError("injected outage")])
        bad = self.fixture.bad_config(config, tmp_path, **fx)
        for cfg in [c for c in (bad[0] if bad else None, {**config, "no_such_option": 1}) if c]:
            try:
                self._run({**cfg, "backoff_seconds": 0.01}, tmp_path)
            except ConnectorError as e:
                messages.append(str(e))
        logged = [r.getMessage() for r in caplog.records]
        for secret in secrets:
            for text in messages + logged:
                assert secret not in text, "a secret value reached a log line or an error message"


def connector_tests(
    target: type[Connector] | SourceFixture | str,
    config: dict | str | Path | None = None,
    *,
    dataset: str | None = None,
    mappings: dict | None = None,
) -> type:
    """The standard test class for a connector: `TestX = connector_tests(XConnector, config=...)`.

    `config` may be a dict or a JSON file (relative to the calling test module).
    """
    if isinstance(target, SourceFixture):
        fixture = target
    else:
        cls = get_connector(target) if isinstance(target, str) else target
        if config is None:
            raise TypeError("connector_tests(connector, config=...) needs a config (or pass a SourceFixture)")
        base = _caller_dir()
        fixture = StaticFixture(cls, config, dataset=dataset, mappings=mappings, base_dir=base)
    name = f"Test{type(fixture).__name__}"
    return type(name, (ConnectorTestKit,), {"fixture": fixture, "__test__": True})


def _caller_dir() -> Path | None:
    """The folder of the test module that called connector_tests()."""
    import sys

    frame = sys._getframe(2)
    try:
        return Path(frame.f_code.co_filename).resolve().parent
    finally:
        del frame


__all__ = ["ConnectorTestKit", "SourceFixture", "StaticFixture", "connector_tests"]


def _column_problems(col, values: list) -> list[str]:
    """How a column's values break its contract column's rules (required, allowed values, minimum)."""
    problems = []
    if col.required and any(v is None for v in values):
        problems.append(f"{col.name} is required but has nulls")
    if col.values:
        bad = sorted({str(v) for v in values if v is not None and str(v).lower() not in col.values})
        if bad:
            problems.append(f"{col.name} has values outside {list(col.values)}: {bad[:5]}")
    if col.min_value is not None:
        low = [v for v in values if isinstance(v, int | float) and v < col.min_value]
        if low:
            problems.append(f"{col.name} has values below {col.min_value}: {low[:5]}")
    return problems
