"""Federated mode's premise, from the trust's side: its package is the same whether its warehouse
holds only its own data or every trust's (central mode), so the national figures cannot depend on
where disclosure control ran."""

from __future__ import annotations

from pipeline.federation.submit import build_tables
from tests.pipeline.federation.conftest import SITE
from tests.support.federation import UNPLANNED_EFFECTS, site_warehouse


def _rows(table) -> list[tuple]:
    return sorted((tuple(round(v, 9) if isinstance(v, float) else v for v in row.values()) for row in table.to_pylist()),
                  key=repr)  # fmt: skip


def test_a_trust_alone_sends_what_the_central_warehouse_would(built, tmp_path):
    alone = site_warehouse(tmp_path, [SITE], extra_effects=UNPLANNED_EFFECTS)
    try:
        own = build_tables(alone.wh, SITE)
    finally:
        alone.wh.dispose()
    central = build_tables(built.wh, SITE)
    for kind in ("measures", "benefits", "benefit_spc", "dq_rows", "dq_rules", "unplanned"):
        assert own[kind].num_rows == central[kind].num_rows > 0, kind
        assert _rows(own[kind]) == _rows(central[kind]), kind
    assert own["measures"].column("suppressed").to_pylist().count(True) > 0
