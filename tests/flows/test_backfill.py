"""`benefits backfill`: reprocessing a period gives the warehouse that loading it once gives, and
doing it again changes nothing; a corrected file in the period is picked up."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pipeline.cli import _register, app
from tests.flows.conftest import TINY, TINY_SPEC
from tests.flows.sites import derived_site
from tests.support.pipeline import build_all, ingest_all
from tests.support.warehouse import mart_schemas, schema_tables, table_checksum

RUN_COLUMNS = ("extracted_at", "loaded_at", "validated_at", "updated_at", "flow_run_id")
LINEAGE = ("_batch_id",)
# Data-quality marts report on batches (one row per batch, pass rates by month of validation):
# a backfill is a new batch, so they rightly change; they are lineage, like meta.load_batch.
BATCH_MARTS = ("dq_batch", "dq_pass_rate_monthly", "dq_new_failures")


def snapshot(url: str, *, with_lineage: bool) -> dict[str, str]:
    """Marts, staging and quarantine; with_lineage adds batch ids, batch marts and meta tables."""
    engine = sa.create_engine(url)
    try:
        out = {
            t: table_checksum(engine, t, exclude=RUN_COLUMNS)
            for t in schema_tables(engine, mart_schemas(engine))
            if with_lineage or t.split(".")[1] not in BATCH_MARTS
        }
        for t in schema_tables(engine, ["staging", "quarantine"]):
            if not t.split(".")[1].startswith("stg_"):
                out[t] = table_checksum(engine, t, exclude=RUN_COLUMNS + (() if with_lineage else LINEAGE))
        if with_lineage:
            for t in ("meta.load_batch", "meta.dq_result", "meta.watermark"):
                out[t] = table_checksum(engine, t, exclude=RUN_COLUMNS)
        return out
    finally:
        engine.dispose()


def run_cli(*args: str):
    _register()
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


SITE = "TA1"


@pytest.fixture
def site_dir(tmp_path, tiny_root):
    """One small site alone, on a private copy of its extracts (the test edits one)."""
    root = tmp_path / "simulated"
    shutil.copytree(tiny_root / SITE, root / SITE)
    template, seed = TINY[SITE]
    derived_site(template, SITE, root, tmp_path / "sites", seed=seed, simulate=False, **TINY_SPEC)
    return tmp_path / "sites", root / SITE


@pytest.mark.postgres
def test_backfill_is_idempotent(home, site_dir, pg_url, monkeypatch):
    sites, extracts = site_dir
    monkeypatch.setenv("BENEFITS_WAREHOUSE_URL", pg_url)
    assert all(o.status == "loaded" for o in ingest_all(sites))
    build_all(sites)
    once = snapshot(pg_url, with_lineage=False)
    assert any(t.startswith("national.") for t in once)

    r = run_cli("backfill", "--site", SITE, "--from", "2017-01", "--to", "2017-03", "--sites", str(sites))
    assert r.exit_code == 0, r.output
    assert "models rebuilt" in r.output
    backfilled = snapshot(pg_url, with_lineage=False)
    assert backfilled == once

    engine = sa.create_engine(pg_url)
    with engine.connect() as c:
        # The period's rows were reloaded by the backfill batches; the other months were not.
        by_period = c.execute(
            sa.text(
                "select _period >= date '2017-01-01' and _period <= date '2017-03-01' as inside, "
                "count(distinct _batch_id) from staging.medication_administrations group by 1"
            )
        ).fetchall()
        backfill_batches = c.execute(
            sa.text(
                "select source_name from meta.load_batch where status = 'loaded' "
                "and period_start >= date '2017-01-01' and period_end <= date '2017-03-31'"
            )
        ).scalars()
        assert sorted(backfill_batches) == ["epma", "incidents", "pas"]  # one batch per source
    assert dict(by_period) == {True: 1, False: 1}

    lineage = snapshot(pg_url, with_lineage=True)
    r = run_cli("backfill", "--site", SITE, "--from", "2017-01", "--to", "2017-03", "--sites", str(sites))
    assert r.exit_code == 0, r.output
    assert snapshot(pg_url, with_lineage=True) == lineage

    # A corrected extract for one month: the backfill replaces that month and nothing else.
    path = extracts / "medication_administrations" / "medication_administrations_2017-02.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 2]))
    with engine.connect() as c:
        before = dict(
            c.execute(sa.text("select _period, count(*) from staging.medication_administrations group by 1")).fetchall()
        )
    r = run_cli(
        "backfill", "--site", SITE, "--from", "2017-02", "--to", "2017-02", "--source", "epma", "--no-rebuild",
        "--sites", str(sites),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    with engine.connect() as c:
        after = dict(
            c.execute(sa.text("select _period, count(*) from staging.medication_administrations group by 1")).fetchall()
        )
    engine.dispose()
    changed = {p for p in before if before[p] != after.get(p)}
    assert [f"{p:%Y-%m}" for p in changed] == ["2017-02"]
    assert 0 < after[min(changed)] < before[min(changed)]


def test_backfill_rejects_a_bad_period(home, site_dir):
    sites, _ = site_dir
    r = run_cli("backfill", "--site", SITE, "--from", "2017-05", "--to", "2017-01", "--sites", str(sites))
    assert r.exit_code == 2 and "--to 2017-01 is before --from 2017-05" in r.output
    r = run_cli("backfill", "--site", SITE, "--from", "2017-5", "--to", "2017/06", "--sites", str(sites))
    assert r.exit_code == 2 and "expected a month as YYYY-MM" in r.output
    r = run_cli("backfill", "--site", SITE, "--from", "2017-01", "--to", "2017-02", "--source", "nope", "--sites", str(sites))
    assert r.exit_code == 2 and f"{SITE} has no source nope" in r.output
