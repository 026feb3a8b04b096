"""Build measures and marts: the measure catalogue, the NHS calendar, site dimension, SQL models."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import sqlalchemy as sa

from pipeline.config import SiteConfig
from pipeline.warehouse.core import Warehouse
from pipeline.warehouse.models import build, discover, parse_header, sql_root


@dataclass(frozen=True)
class MeasureDef:
    code: str
    name: str
    unit: str
    direction: str  # higher | lower | neutral
    multiplier: float
    family: str  # binomial | poisson | mean: how the numerator is distributed, for ITS
    numerator: str
    denominator: str
    description: str
    scope: str = "national"

    @property
    def has_denominator(self) -> bool:
        return self.denominator.strip().lower() != "none"

    def as_context(self) -> dict:
        return {**self.__dict__, "has_denominator": self.has_denominator, "multiplier": f"{self.multiplier:g}"}


def measure_from_header(header: dict[str, str], scope: str = "national") -> MeasureDef:
    return MeasureDef(
        code=header["measure"],
        name=header.get("name", header["measure"]),
        unit=header.get("unit", ""),
        direction=header.get("direction", "neutral"),
        multiplier=float(header.get("multiplier", "1")),
        family=header.get("family", "binomial"),
        numerator=header.get("numerator", ""),
        denominator=header.get("denominator", "none"),
        description=header.get("description", ""),
        scope=scope,
    )


@lru_cache(maxsize=1)
def national_measures() -> tuple[MeasureDef, ...]:
    out = []
    for path in sorted((sql_root() / "measures").glob("*.sql")):
        header = parse_header(path.read_text(encoding="utf-8"))
        if "measure" in header:
            out.append(measure_from_header(header))
    return tuple(out)


def measure_lookup() -> dict[str, MeasureDef]:
    return {m.code: m for m in national_measures()}


def financial_year(month: dt.date) -> str:
    start = month.year if month.month >= 4 else month.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def financial_quarter(month: dt.date) -> int:
    return (month.month - 4) % 12 // 3 + 1


def calendar(first: int = 2010, last: int = 2035) -> list[dict]:
    rows = []
    for year in range(first, last + 1):
        for m in range(1, 13):
            month = dt.date(year, m, 1)
            nxt = dt.date(year + (m == 12), m % 12 + 1, 1)
            rows.append(
                {
                    "month": month.isoformat(),
                    "next_month": nxt.isoformat(),
                    "year": year,
                    "month_of_year": m,
                    "financial_year": financial_year(month),
                    "financial_quarter": financial_quarter(month),
                    "label": month.strftime("%b %Y"),
                }
            )
    return rows


SITE_TYPES = {
    "site_code": "varchar",
    "site_name": "varchar",
    "trust_type": "varchar",
    "region": "varchar",
    "role": "varchar",
    "config_path": "varchar",
}


def write_sites(wh: Warehouse, sites: list[SiteConfig]) -> None:
    """meta.site mirrors the site configs in force for this run."""
    frame = pd.DataFrame(
        [
            {
                "site_code": s.ods_code,
                "site_name": s.name,
                "trust_type": s.trust_type,
                "region": s.region,
                "role": s.role,
                "config_path": s.path.name if s.path else None,
            }
            for s in sites
        ],
        columns=list(SITE_TYPES),
    )
    with wh.begin() as conn:
        conn.execute(sa.text("delete from meta.site"))
        if not frame.empty:
            conn.execute(
                sa.text(
                    "insert into meta.site (site_code, site_name, trust_type, region, role, config_path) "
                    "values (:site_code, :site_name, :trust_type, :region, :role, :config_path)"
                ),
                frame.to_dict("records"),
            )


def site_context(site: SiteConfig) -> dict:
    return {"ods_code": site.ods_code, "schema": site.schema, "name": site.name, "local_measures": []}


def build_marts(wh: Warehouse, sites: list[SiteConfig], *, suppression_threshold: int, on_model=None) -> list[str]:
    trusts = [site_context(s) for s in sites if s.role == "trust"]
    models = discover(trusts)
    context = {
        "measures": [m.as_context() for m in national_measures()],
        "calendar": calendar(),
        "suppression_threshold": int(suppression_threshold),
    }
    return build(wh, models, context, on_model=on_model)
