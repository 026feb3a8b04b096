"""Headline value totals: what a board paper may add up.

Only evidenced value counts (`value_evidenced_gbp`: the effect's 95% CI excludes no change in the
planned direction); a harm's cost (`disbenefit_cost_gbp`) is reported beside it as a cost, never
netted off as a negative value. The interval of a total treats the benefits as independent: the
half-widths of their `value_gbp` intervals are added in quadrature (benefits on different sites
and measures share no data; two benefits on one measure of one site would, and are rare).
"""

from __future__ import annotations

import math

import pandas as pd

from benefits.tables import VALUE_SUMMARY

def _num(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return f if math.isfinite(f) else 0.0


def totals(latest: pd.DataFrame | list[dict]) -> dict:
    """Headline figures over benefits' latest rows (fact_benefit columns)."""
    rows = latest.to_dict("records") if isinstance(latest, pd.DataFrame) else list(latest)
    value = cash = noncash = public = cost = 0.0
    var = 0.0
    evidenced = harmed = valued = 0
    for r in rows:
        if r.get("valuation_type") not in (None, "") and not pd.isna(r.get("valuation_type")):
            valued += 1
        v = _num(r.get("value_evidenced_gbp"))
        if v > 0:
            evidenced += 1
            value += v
            half = (_num(r.get("value_gbp_high")) - _num(r.get("value_gbp_low"))) / 2
            var += half * half
            if r.get("valuation_type") == "cash_releasing":
                cash += v
            elif r.get("valuation_type") == "public_money":
                public += v
            else:
                noncash += v
        c = _num(r.get("disbenefit_cost_gbp"))
        if c > 0:
            harmed += 1
            cost += c
    half = math.sqrt(var)
    return {
        "benefits": len(rows),
        "valued_benefits": valued,
        "evidenced_benefits": evidenced,
        "value_evidenced_gbp": value,
        "value_evidenced_gbp_low": max(value - half, 0.0) if evidenced else 0.0,
        "value_evidenced_gbp_high": value + half,
        "value_evidenced_cash_releasing_gbp": cash,
        "value_evidenced_non_cash_releasing_gbp": noncash,
        "value_evidenced_public_money_gbp": public,
        "evidenced_disbenefits": harmed,
        "disbenefit_cost_gbp": cost,
    }


def summary_frame(fact: pd.DataFrame) -> pd.DataFrame:
    """One VALUE_SUMMARY row per site from fact_benefit rows (all as-of months; latest taken)."""
    cols = list(VALUE_SUMMARY.columns)
    if fact.empty:
        return pd.DataFrame(columns=cols)
    latest = fact[fact["is_latest"].astype(bool)]
    out = []
    for site, g in latest.groupby("site_code", sort=True):
        out.append({"site_code": site, "as_of_month": g["as_of_month"].max(), **totals(g)})
    return pd.DataFrame(out, columns=cols)
