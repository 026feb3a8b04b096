"""Fixtures for the data-quality tests: one Great Expectations start per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def file_validator(tmp_path_factory):
    """`benefits validate`'s engine (scratch DuckDB + GX), shared: GX takes seconds to start."""
    from pipeline.ingest.check_file import FileValidator

    fv = FileValidator(tmp_path_factory.mktemp("file_validator"))
    yield fv
    fv.close()
