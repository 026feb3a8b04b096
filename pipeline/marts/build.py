"""Build measures and marts: the measure catalogue, the NHS calendar, site dimension, SQL models.

National core measures are declared once, in sql/models/measures/<code>.sql (a `-- key: value`
header, then the SELECT at the measure's finest grain). A site adds its own measures by
dropping files of the same form into <local sql folder>/<ods lower>/ (default sql/local,
or BENEFITS_LOCAL_SQL_DIR); they appear in that site's local mart only and its benefits can
be tracked on them (`measure_lookup(site)`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from dataset_contracts.contracts import CONTRACTS
from pipeline.config.sites import SiteConfig
from pipeline.marts.fiscal import financial_quarter, financial_year, financial_year_start, quarter_start
from pipeline.marts.suppression import OUTPUT_TYPES, MeasureRule, disclosure_control
from pipeline.warehouse.core import Warehouse, read_frame
from pipeline.warehouse.models import (
    Model,
    PythonModel,
    build,
    discover,
    load_model,
    models_root,
    parse_header,
    plan_build,
    sql_root,
)

DIRECTIONS = ("higher", "lower", "neutral")
FAMILIES = ("binomial", "poisson", "mean")
PERIODS = ("day", "month")
BREAKDOWNS = ("ward", "specialty")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class MeasureError(ValueError):
    """A measure file whose header cannot be used; the message names the file and the field."""


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
    period: str = "day"  # finest time grain of the source: day or month
    breakdowns: tuple[str, ...] = ()  # ward, specialty
    denominator_measure: str | None = None  # the denominator is this measure's numerator
    site: str | None = None  # ODS code, for a local measure
    path: Path | None = field(default=None, compare=False)
    # Maturity: the first `warm_up_months` of a site's extract are incomplete (spells admitted
    # before it are missing), and a month is complete only `mature_after_days` after its end
    # (a readmission needs 30 days to be seen). Immature months are provisional: kept in the
    # marts, left out of every estimate.
    warm_up_months: int = 0
    mature_after_days: int = 0
    # Measures that count the same records: a benefit on one of them explains a change in this
    # one, so the unplanned-change scan treats this measure as covered from that benefit's go-live.
    moved_by: tuple[str, ...] = ()

    @property
    def has_denominator(self) -> bool:
        return self.denominator.strip().lower() != "none"

    @property
    def model(self) -> str:
        """Table in the measures schema holding the measure at its finest grain."""
        return self.code if self.scope == "national" else f"local_{self.site.lower()}_{self.code}"

    def as_context(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "unit": self.unit,
            "direction": self.direction,
            "multiplier": f"{self.multiplier:g}",
            "family": self.family,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "description": self.description,
            "scope": self.scope,
            "period": self.period,
            "breakdowns": list(self.breakdowns),
            "denominator_measure": self.denominator_measure,
            "warm_up_months": self.warm_up_months,
            "mature_after_days": self.mature_after_days,
            "site": self.site,
            "model": self.model,
            "has_denominator": self.has_denominator,
        }


def measure_from_header(header: dict[str, str], scope: str = "national", *, path: Path | None = None,
                        site: str | None = None) -> MeasureDef:
    where = f"{path}: " if path else ""

    def pick(key: str, allowed: tuple[str, ...], default: str) -> str:
        value = header.get(key, default).strip().lower()
        if value not in allowed:
            raise MeasureError(f"{where}{key}: {value!r} is not one of {', '.join(allowed)}")
        return value

    code = (header.get("measure") or header.get("code") or "").strip()
    if not _CODE.match(code):
        raise MeasureError(f"{where}measure: expected a lower-case code (letters, digits, _), got {code!r}")
    multiplier = _header_number(header, where)
    maturity = _header_maturity(header, where)
    moved_by = _header_moved_by(header, where)
    breakdowns = _header_breakdowns(header, where)
    return MeasureDef(
        code=code,
        name=header.get("name", code),
        unit=header.get("unit", ""),
        direction=pick("direction", DIRECTIONS, "neutral"),
        multiplier=multiplier,
        family=pick("family", FAMILIES, "binomial"),
        numerator=header.get("numerator", ""),
        denominator=header.get("denominator", "none"),
        description=header.get("description", ""),
        scope=scope,
        period=pick("period", PERIODS, "day"),
        breakdowns=breakdowns,
        denominator_measure=header.get("denominator_measure") or None,
        moved_by=moved_by,
        site=site,
        path=path,
        **maturity,
    )


def _header_number(header: dict[str, str], where: str) -> float:
    try:
        return float(header.get("multiplier", "1"))
    except ValueError:
        raise MeasureError(f"{where}multiplier: {header['multiplier']!r} is not a number") from None


def _header_maturity(header: dict[str, str], where: str) -> dict[str, int]:
    maturity = {}
    for key in ("warm_up_months", "mature_after_days"):
        text = header.get(key, "0").strip()
        if not text.isdigit():
            raise MeasureError(f"{where}{key}: expected a whole number >= 0, got {text!r}")
        maturity[key] = int(text)
    return maturity


def _header_moved_by(header: dict[str, str], where: str) -> tuple[str, ...]:
    moved_by = tuple(c.strip() for c in header.get("moved_by", "").split(",") if c.strip())
    bad = [c for c in moved_by if not _CODE.match(c)]
    if bad:
        raise MeasureError(f"{where}moved_by: expected measure codes, got {', '.join(map(repr, bad))}")
    return moved_by


def _header_breakdowns(header: dict[str, str], where: str) -> tuple[str, ...]:
    raw = header.get("breakdowns", "none").strip().lower()
    breakdowns = () if raw in ("", "none") else tuple(b.strip() for b in raw.split(","))
    unknown = [b for b in breakdowns if b not in BREAKDOWNS]
    if unknown:
        raise MeasureError(f"{where}breakdowns: {', '.join(unknown)} not among {', '.join(BREAKDOWNS)} (or none)")
    return breakdowns


@lru_cache(maxsize=1)
def national_measures() -> tuple[MeasureDef, ...]:
    out = []
    for path in sorted((models_root() / "measures").glob("*.sql")):
        header = parse_header(path.read_text(encoding="utf-8"))
        if "measure" in header:
            out.append(measure_from_header(header, path=path))
    return tuple(out)


def local_sql_dir(value: str | Path | None = None) -> Path:
    """Where sites keep their local measures: one folder per site, named by its ODS code in lower case."""
    if value:
        return Path(value)
    env = os.environ.get("BENEFITS_LOCAL_SQL_DIR")
    return Path(env) if env else sql_root() / "local"


def local_measures(ods_code: str, directory: str | Path | None = None) -> tuple[MeasureDef, ...]:
    """A site's local measures; errors name the file and the header field."""
    folder = local_sql_dir(directory) / ods_code.lower()
    national = {m.code for m in national_measures()}
    out = []
    for path in sorted(folder.glob("*.sql")):
        header = parse_header(path.read_text(encoding="utf-8"))
        missing = [k for k in ("name", "unit", "direction") if not header.get(k)]
        if not (header.get("measure") or header.get("code")):
            missing.insert(0, "measure")
        if missing:
            raise MeasureError(f"{path}: local measure header lacks {', '.join(missing)} (-- field: value lines)")
        m = measure_from_header(header, "local", path=path, site=ods_code.upper())
        if m.code in national:
            raise MeasureError(f"{path}: measure: {m.code!r} is a national measure; give the local one its own code")
        if m.denominator_measure:
            raise MeasureError(f"{path}: denominator_measure: only national measures are suppressed")
        out.append(m)
    codes = [m.code for m in out]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise MeasureError(f"{folder}: more than one file declares measure {', '.join(dupes)}")
    return tuple(out)


def _site_code(site: SiteConfig | str | None) -> str | None:
    if site is None:
        return None
    return site.ods_code if isinstance(site, SiteConfig) else str(site).upper()


def measure_lookup(site: SiteConfig | str | None = None, *, local_sql: str | Path | None = None) -> dict[str, MeasureDef]:
    """Measures by code: the national ones, plus the site's local measures when a site is given."""
    out = {m.code: m for m in national_measures()}
    code = _site_code(site)
    if code:
        out.update({m.code: m for m in local_measures(code, local_sql)})
    return out


# -- NHS financial calendar (the helpers live in pipeline/marts/fiscal.py) -----------------------
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
                    "quarter_start": quarter_start(month).isoformat(),
                    "financial_year_start": financial_year_start(month).isoformat(),
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


def organisations(wh: Warehouse, sites: list[SiteConfig]) -> list[str]:
    """Every organisation national.dim_site will describe: the configured trusts and each
    organisation in the national A&E data (most of which have no config to name them)."""
    codes = [s.ods_code for s in sites if s.role == "trust"]
    if wh.table_exists("staging", "ae_monthly"):
        codes += [str(c) for c in wh.query("select distinct org_code from staging.ae_monthly order by 1")["org_code"]]
    return list(dict.fromkeys(codes))


def site_context(site: SiteConfig | dict, local: tuple[MeasureDef, ...] = ()) -> dict:
    if isinstance(site, dict):
        return {**site, "local_measures": [m.as_context() for m in local]}
    return {
        "ods_code": site.ods_code,
        "schema": site.schema,
        "name": site.name,
        "local_measures": [m.as_context() for m in local],
    }


def local_measure_models(measures: tuple[MeasureDef, ...]) -> list[Model]:
    """A site's local measures as models: the table measures.local_<ods>_<code>, ref()'d by its code (dbt model
    names are global, so a local measure's code must differ from every other site's too)."""
    codes = [m.code for m in measures]
    shared = sorted({c for c in codes if codes.count(c) > 1})
    if shared:
        raise MeasureError(f"local measure code(s) {', '.join(shared)} declared by more than one site; "
                           "give each its own code (a dbt model name is global)")
    return [load_model("measures", m.path, {}, name=m.model, node=m.code) for m in measures]


# -- disclosure control, a Python step inside the build --------------------------------------
DISCLOSURE_HEADER = {
    "grain": "measure x group (organisation, region or trust type) x period (month, financial quarter or year)",
    "key": "measure_code, group_type, group_code, period_type, period_start",
    "description": "every national figure with its small-number suppression decision (values not yet withheld); "
    "the national facts and rollup views publish it with withheld values nulled",
}


def national_cells(conn: sa.Connection) -> pd.DataFrame:
    """The organisation x month cells of the national measures, with the groups they roll up into."""
    cells = read_frame(
        conn,
        "select m.site_code, m.measure_code, m.month, m.numerator, m.denominator, m.value, s.region, s.trust_type "
        "from measures.measure_monthly m join measures.site_directory s on s.site_code = m.site_code "
        "where m.scope = 'national'",
    )
    cells["month"] = pd.to_datetime(cells["month"]).dt.date
    for col in ("numerator", "denominator", "value"):
        cells[col] = pd.to_numeric(cells[col], errors="coerce").astype(float)
    cells["quarter_start"] = [quarter_start(m) for m in cells["month"]]
    cells["year_start"] = [financial_year_start(m) for m in cells["month"]]
    cells["financial_year"] = [financial_year(m) for m in cells["month"]]
    cells["financial_quarter"] = [financial_quarter(m) for m in cells["month"]]
    return cells


def write_disclosure_control(wh: Warehouse, conn: sa.Connection, frame: pd.DataFrame) -> None:
    # Rollup views depend on this table; PostgreSQL will not drop it under them without cascade.
    conn.execute(sa.text(f"drop table if exists measures.disclosure_control{' cascade' if not wh.is_duckdb else ''}"))
    wh.replace_table(conn, "measures.disclosure_control", frame, OUTPUT_TYPES)


def _disclosure_model(threshold: int) -> PythonModel:
    def run(wh: Warehouse, conn: sa.Connection, context: dict) -> None:
        rules = [
            MeasureRule(m.code, m.has_denominator, m.multiplier, m.denominator_measure) for m in national_measures()
        ]
        write_disclosure_control(wh, conn, disclosure_control(national_cells(conn), rules, threshold))

    return PythonModel(
        "measures",
        "disclosure_control",
        run,
        deps=("measures.measure_monthly", "measures.site_directory"),
        header=dict(DISCLOSURE_HEADER),
    )


def national_suppression(wh: Warehouse) -> pd.DataFrame:
    """The organisation-months of national measures the national mart withholds, and why.

    Anything else published nationally from the same months (e.g. a benefit's latest value or
    its SPC points in national.fact_benefit*) must withhold the same months: primary suppression
    alone would give complementary-suppressed months, and through them the small counts, away.
    """
    frame = wh.query(
        "select group_code as site_code, measure_code, period_start as month, suppressed, suppression_reason "
        "from measures.disclosure_control where group_type = 'site' and period_type = 'month'"
    )
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    frame["suppressed"] = frame["suppressed"].astype(bool)
    return frame


def _models_and_context(wh: Warehouse, sites: list[SiteConfig], threshold: int,
                        local_sql: str | Path | None) -> tuple[list, dict]:  # fmt: skip
    trusts = [s for s in sites if s.role == "trust"]
    local = {s.ods_code: local_measures(s.ods_code, local_sql) for s in trusts}
    every_local = tuple(m for s in trusts for m in local[s.ods_code])
    models = discover([site_context(s, local[s.ods_code]) for s in trusts], local_measure_models(every_local))
    models.append(_disclosure_model(int(threshold)))
    return models, model_vars(wh, trusts, every_local, threshold)


def model_vars(wh: Warehouse, trusts: list[SiteConfig], local: tuple, threshold: int) -> dict:
    """What the models read as `var()`s: the runner's context and dbt's `--vars` alike."""
    return {
        "measures": [m.as_context() for m in national_measures()],
        "local_measures": [m.as_context() for m in local],
        "trusts": [s.ods_code for s in trusts],
        "datasets": sorted(CONTRACTS),  # every dataset contract has a staging and a quarantine table
        "calendar": calendar(),
        "suppression_threshold": int(threshold),
        "has_ods_organisation": wh.table_exists("meta", "ods_organisation"),
    }


def build_marts(
    wh: Warehouse,
    sites: list[SiteConfig],
    *,
    suppression_threshold: int,
    on_model=None,
    local_sql: str | Path | None = None,
    full_refresh: bool = False,
) -> list[str]:
    """Every model in one transaction; incremental models refresh only the site-months loads changed
    (pipeline.warehouse.incremental), or in full with `full_refresh`."""
    models, context = _models_and_context(wh, sites, suppression_threshold, local_sql)
    return build(wh, models, context, on_model=on_model, full_refresh=full_refresh)


def incremental_plan(wh: Warehouse, sites: list[SiteConfig], *, suppression_threshold: int,
                     local_sql: str | Path | None = None):  # fmt: skip
    """What build_marts would refresh by site-month now (nothing is built or recorded)."""
    models, context = _models_and_context(wh, sites, suppression_threshold, local_sql)
    return plan_build(wh, models, context)
