"""`benefits warehouse grant` says when its roles are already used by another database on the
same server (roles are server-wide) (issue 15 #19)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from pipeline.config.sites import SiteConfig
from pipeline.warehouse.core import Warehouse
from pipeline.warehouse.grants import drop_roles, grant
from tests.robustness.cli import benefits, clean_env

pytestmark = pytest.mark.postgres


def test_grant_names_another_database_using_the_same_roles(tmp_path, pg_url, pg_url_module):
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    sites = [SiteConfig(ods_code="RAA", name="A trust", trust_type="acute", region="London")]
    first, second = Warehouse(pg_url_module), Warehouse(pg_url)
    plan_first = grant(first, sites, prefix=prefix)
    try:
        assert not plan_first.used_elsewhere
        folder = tmp_path / "sites"
        folder.mkdir()
        (folder / "RAA.yaml").write_text("ods_code: RAA\nname: A trust\ntrust_type: acute\nregion: London\n")
        result = benefits(
            "warehouse", "grant", "--sites", str(folder), "--warehouse", pg_url, "--prefix", prefix,
            env=clean_env(tmp_path), timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        other = first.url.rsplit("/", 1)[1]
        assert "server-wide" in result.stderr and other in result.stderr and f"{prefix}national_reader" in result.stderr
    finally:
        with second.begin() as conn:  # this database's share first: a role is dropped once unused everywhere
            for role in plan_first.roles:
                conn.execute(sa.text(f'reassign owned by "{role}" to current_user'))
                conn.execute(sa.text(f'drop owned by "{role}"'))
        drop_roles(first, plan_first)
        first.dispose()
        second.dispose()
