"""Fixtures for the connector tests: a local HTTP server standing in for APIs."""

from __future__ import annotations

import pytest

from tests.connectors.fake_api import FakeApi


@pytest.fixture
def fake_api():
    api = FakeApi()
    yield api
    api.close()
