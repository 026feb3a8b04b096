"""One warehouse after a real small run of two trusts (RF4 acute, RRK mental health), built once for
the package: a site submits from it as from its own, and a second trust in it shows that nothing of
another site leaves with the package. RF4 has an unplanned change and a signing key under the warehouse's BENEFITS_HOME."""

from __future__ import annotations

import pytest

from pipeline.federation.keys import init_key
from tests.support.federation import UNPLANNED_EFFECTS, SiteWarehouse, site_warehouse

SITE, OTHER = "RF4", "RRK"


@pytest.fixture(scope="package")
def built(tmp_path_factory) -> SiteWarehouse:
    b = site_warehouse(tmp_path_factory.mktemp("fed_site"), [SITE, OTHER], extra_effects=UNPLANNED_EFFECTS)
    init_key(b.home, SITE)
    yield b
    b.wh.dispose()
