"""The national mart of a federated deployment, built from collected packages only.

The national warehouse holds no record-level row: its inputs are the `collected.*` tables the
collector merges (pipeline/federation/collect.py). From them this module writes the same national
tables central mode builds from staging, through the same SQL models wherever the models read
only aggregates:

* `measures.disclosure_control`: each site's own disclosure-controlled lattice, as submitted, and
  the region and trust-type totals made by the same rule as central mode
  (pipeline.marts.suppression.group_totals), so published figures are identical in both modes;
* `national.dim_site`, `.dim_measure`, `.dim_month`, `.fact_measure_monthly` and the quarterly,
  financial-year, region and trust-type rollups: the central SQL models, unchanged;
* `national.fact_benefit`, `.fact_benefit_spc`, `.benefit_value_summary`: the sites' national-scope
  benefits as they computed them;
* `national.fact_unplanned_change`: the signals of each site's own unplanned-change scan on
  national measures, as submitted;
* `national.fact_programme_effect`: central mode's estimators (benefits.pooled) over the sites'
  latest national-scope benefit rows and the national monthly facts. The meta-analysis needs only
  the sites' ITS effects and equals central mode's; the stacked difference-in-differences sees
  the published site-months only, so it equals central mode's when none of its panel is withheld;
* `national.dq_submitted_rows`, `.dq_submitted_rules`: the data-quality summaries the sites sent
  (central mode's per-batch DQ tables need record-level batches and are not built here).
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from benefits.pooled import programme_effects
from benefits.tables import FACT_BENEFIT, FACT_BENEFIT_SPC, FACT_UNPLANNED_CHANGE, PROGRAMME_EFFECT, VALUE_SUMMARY
from benefits.value import summary_frame
from pipeline.federation.package import KINDS
from pipeline.marts.build import DISCLOSURE_HEADER, model_vars, national_measures, write_disclosure_control
from pipeline.marts.suppression import OUTPUT_TYPES, MeasureRule, group_totals
from pipeline.warehouse.core import Warehouse, read_frame
from pipeline.warehouse.models import PythonModel, Resolver, build, load_model, models_root

COLLECTED = "collected"
SITE_COLUMNS = {"site_code": "varchar", "site_name": "varchar", "trust_type": "varchar", "region": "varchar",
                "configured": "boolean"}  # fmt: skip
MONTHLY_COLUMNS = {"site_code": "varchar", "measure_code": "varchar", "scope": "varchar", "month": "date",
                   "numerator": "double", "denominator": "double", "value": "double"}  # fmt: skip


def _rules() -> list[MeasureRule]:
    return [MeasureRule(m.code, m.has_denominator, m.multiplier, m.denominator_measure) for m in national_measures()]


def collected(conn: sa.Connection, kind: str) -> pd.DataFrame:
    cols = ", ".join(KINDS[kind].columns)
    frame = read_frame(conn, f"select {cols} from {COLLECTED}.{kind}")
    for c, t in KINDS[kind].columns.items():
        if t == "date":
            frame[c] = pd.to_datetime(frame[c]).dt.date
        elif t == "double":
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
        elif t == "boolean":
            frame[c] = frame[c].astype(bool)
    return frame


def _directory(conn: sa.Connection) -> pd.DataFrame:
    frame = read_frame(conn, f"select site_code, site_name, region, trust_type from {COLLECTED}.site")
    frame["region"] = frame["region"].fillna("Unknown")
    frame["trust_type"] = frame["trust_type"].fillna("unknown")
    frame["configured"] = True
    return frame


def federated_models(context: dict) -> list:
    """What the collector builds: the collected figures as the central build's inputs, then the
    national models that read only those."""
    def site_directory(wh: Warehouse, conn: sa.Connection, _context: dict) -> None:
        wh.replace_table(conn, "measures.site_directory", _directory(conn), SITE_COLUMNS)

    def measure_monthly(wh: Warehouse, conn: sa.Connection, _context: dict) -> None:
        rows = collected(conn, "measures")
        months = rows[rows["period_type"] == "month"].rename(columns={"period_start": "month"})
        wh.replace_table(conn, "measures.measure_monthly", months.assign(scope="national"), MONTHLY_COLUMNS)

    def disclosure_control(wh: Warehouse, conn: sa.Connection, _context: dict) -> None:
        rows = collected(conn, "measures").rename(columns={"site_code": "group_code"})
        rows = rows.assign(group_type="site", sites=1)[list(OUTPUT_TYPES)]
        directory = read_frame(conn, "select site_code, region, trust_type from measures.site_directory")
        totals = group_totals(rows, directory, _rules())
        write_disclosure_control(wh, conn, pd.concat([rows, totals], ignore_index=True))

    deps = (f"{COLLECTED}.measures", f"{COLLECTED}.site")
    models: list = [
        PythonModel("measures", "site_directory", site_directory, deps=deps),
        PythonModel("measures", "measure_monthly", measure_monthly, deps=deps),
        PythonModel("measures", "disclosure_control", disclosure_control, deps=(*deps, "measures.site_directory"),
                    header=dict(DISCLOSURE_HEADER)),
        load_model("measures", models_root() / "measures" / "calendar_month.sql"),
    ]
    return models + national_models(models, context)


def national_models(provided: list, context: dict) -> list:
    """The central national models the collected figures can feed: those that read only what
    `provided` builds and each other (not the data-quality marts, which read every row's batch).
    Found by rendering, so a new national mart table needs no list."""
    kept = [load_model("national", p) for p in sorted((models_root() / "marts" / "national").glob("*.sql"))]
    while True:
        resolver, fqns = Resolver(provided + kept), {m.fqn for m in provided + kept}
        readable = []
        for model in kept:
            try:
                _, deps = model.render({"dialect": "duckdb", **context}, resolver)
            except RuntimeError as e:
                if "no model of that name" in str(e):  # a ref() to a model this build does not have
                    continue
                raise
            if deps <= fqns:
                readable.append(model)
        if len(readable) == len(kept):
            return kept
        kept = readable


def _latest_flag(fact: pd.DataFrame) -> pd.DataFrame:
    """Each package marks its own last month latest; across packages only the benefit's newest is."""
    if fact.empty:
        return fact
    newest = fact.groupby(["site_code", "benefit_id"])["as_of_month"].transform("max")
    return fact.assign(is_latest=fact["as_of_month"] == newest)


WITHHELD_NOTE = "withheld site-months are left out of the stacked estimate"


def programme(conn: sa.Connection, fact: pd.DataFrame) -> pd.DataFrame:
    """fact_programme_effect from the national tables: each benefit's latest row gives its ITS
    effect, system (project), go-live and ramp-in; the panel is national.fact_measure_monthly."""
    latest = fact[fact["is_latest"].astype(bool)] if not fact.empty else fact
    registered = pd.DataFrame({
        "site_code": latest["site_code"], "measure_code": latest["measure_code"], "project": latest["project"],
        "go_live": latest["go_live_month"], "ramp_months": latest["ramp_months"],
    })  # fmt: skip
    series = read_frame(conn, "select site_code, measure_code, month, numerator, denominator, value, suppressed "
                              "from national.fact_measure_monthly")  # fmt: skip
    series["month"] = pd.to_datetime(series["month"]).dt.date
    for c in ("numerator", "denominator", "value"):
        series[c] = pd.to_numeric(series[c], errors="coerce").astype(float)
    out = programme_effects(latest, series.drop(columns="suppressed"), registered)
    # Said on the row rather than left for the reader to infer: the estimate differs from one on every month.
    withheld = set(series.loc[series["suppressed"].astype(bool), "measure_code"])
    hit = out["measure_code"].isin(withheld) & out["staggered_sites"].gt(0)
    out.loc[hit, "note"] = [f"{n}; {WITHHELD_NOTE}" if n else WITHHELD_NOTE for n in out.loc[hit, "note"]]
    return out


def build_national(wh: Warehouse, threshold: int) -> list[str]:
    """Rebuild every national table from what has been collected, in one transaction."""
    context = model_vars(wh, [], (), threshold)
    built = build(wh, federated_models(context), context)
    with wh.begin() as conn:
        fact = _latest_flag(collected(conn, "benefits"))
        wh.replace_table(conn, "national.fact_benefit", fact, FACT_BENEFIT.types)
        wh.replace_table(conn, "national.fact_benefit_spc", collected(conn, "benefit_spc"), FACT_BENEFIT_SPC.types)
        wh.replace_table(conn, "national.benefit_value_summary", summary_frame(fact), VALUE_SUMMARY.types)
        wh.replace_table(conn, "national.dq_submitted_rows", collected(conn, "dq_rows"), KINDS["dq_rows"].columns)
        wh.replace_table(conn, "national.dq_submitted_rules", collected(conn, "dq_rules"), KINDS["dq_rules"].columns)
        unplanned = collected(conn, "unplanned").sort_values(["site_code", "measure_code", "first_month"], kind="stable")
        wh.replace_table(conn, "national.fact_unplanned_change", unplanned.reset_index(drop=True),
                         FACT_UNPLANNED_CHANGE.types)  # fmt: skip
        wh.replace_table(conn, "national.fact_programme_effect", programme(conn, fact), PROGRAMME_EFFECT.types)
    return [*built, "national.fact_benefit", "national.fact_benefit_spc", "national.benefit_value_summary",
            "national.dq_submitted_rows", "national.dq_submitted_rules", "national.fact_unplanned_change",
            "national.fact_programme_effect"]  # fmt: skip
