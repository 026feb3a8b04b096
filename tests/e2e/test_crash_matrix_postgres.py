"""The crash matrix of test_crash_matrix.py on a PostgreSQL warehouse (its own module, so the two
chains can run on separate test workers)."""

from __future__ import annotations

import pytest

from tests.e2e.test_crash_matrix import crash_chain, warehouse_state
from tests.support.runs import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_postgres_killed_at_every_stage_then_rerun_equals_an_uninterrupted_run(tmp_path, one_trust, prefect_home, request):
    reference_url, crashed_url = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_url_2")
    reference = run_cli(one_trust, tmp_path / "reference", prefect_home, reference_url)
    assert reference.returncode == 0, reference.stderr[-3000:]
    crash_chain(one_trust, tmp_path / "crashed", prefect_home, crashed_url)
    assert warehouse_state(crashed_url) == warehouse_state(reference_url)
