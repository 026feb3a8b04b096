"""Rows that belong to another trust (issue 15 #1): quarantined with a rule naming this site's
code, their own code kept beside them, and no figure of either trust moved."""

from __future__ import annotations

import csv
import shutil

import sqlalchemy as sa
import yaml

from pipeline.runtime import warehouse
from tests.flows.conftest import tiny_root, tiny_sites  # noqa: F401  (tiny_root is a fixture)
from tests.robustness.cli import assert_accounted
from tests.support.pipeline import ingest_all


def _move_incidents_to_copy(sites_dir, tiny_root, tmp_path, site: str, foreign: str, rows: int) -> int:
    """Point `site`'s incident source at a copy of its files in which `rows` rows carry `foreign`."""
    cfg_path = sites_dir / f"{site}.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    src = next(s for s in cfg["sources"] if s["dataset"] == "patient_safety_incidents")
    folder = tmp_path / "incidents"
    folder.mkdir()
    site_col = next(k for k, v in src["options"]["columns"].items() if v == "site_code")
    total = 0
    for f in sorted((tiny_root / site / "patient_safety_incidents").glob("*.csv")):
        with f.open(newline="") as fh:
            data = list(csv.DictReader(fh))
        if not data:
            shutil.copy(f, folder / f.name)
            continue
        for r in data:
            if total < rows:
                r[site_col] = foreign
                total += 1
        with (folder / f.name).open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(data[0]))
            w.writeheader()
            w.writerows(data)
    src["options"]["path"] = str(folder / "*.csv")
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return total


def test_rows_of_another_trust_are_quarantined_not_counted(home, tiny_root, tmp_path):
    sites_dir = tiny_sites(tmp_path / "sites", tiny_root, ["TA1", "TB1"])
    moved = _move_incidents_to_copy(sites_dir, tiny_root, tmp_path, "TA1", "TB1", 3)
    assert moved == 3  # under the 5% that would hold the whole batch (81 rows)
    outcomes = {(o.site_code, o.source_name): o for o in ingest_all(sites_dir)}
    inc = next(o for (s, _), o in outcomes.items() if s == "TA1" and o.dataset == "patient_safety_incidents")
    assert inc.status == "loaded", inc.reason
    assert inc.rows_in == inc.rows_loaded + inc.rows_quarantined
    for o in outcomes.values():
        if o.batch_id:
            assert_accounted(warehouse(), o.batch_id)
    engine = warehouse().engine
    with engine.connect() as c:
        staged = dict(c.execute(sa.text("select site_code, count(*) from staging.patient_safety_incidents group by 1")).fetchall())
        q = c.execute(
            sa.text(
                "select site_code, _failed_rules from quarantine.patient_safety_incidents "
                "where _failed_rules like '%site_code_is_TA1%'"
            )
        ).fetchall()
    assert len(q) == 3 and {r[0] for r in q} == {"TB1"}  # this site's rule, the row's own code kept
    tb1 = next(o for o in outcomes.values() if o.site_code == "TB1" and o.dataset == "patient_safety_incidents")
    assert staged["TB1"] == tb1.rows_loaded  # TB1's figures hold only TB1's own rows
    assert set(staged) == {"TA1", "TB1"}
