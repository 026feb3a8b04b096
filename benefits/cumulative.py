"""The cumulative benefit from go-live to an as-of month: observed against the ITS counterfactual,
in units of the measure and in pounds."""

from __future__ import annotations

import numpy as np

from benefits.its import total_with_ci
from benefits.its_plan import ItsPlan
from benefits.register import Benefit

Z95 = 1.959963984540054  # the normal quantile of 95% intervals


def cumulative_benefit(
    plan: ItsPlan, m: int, cols: list[int], beta: np.ndarray, cov: np.ndarray, disp: float, sign: int, benefit: Benefit,
    evidence: str | None,
) -> dict:
    """Ramp-in included. Provisional months are left out on both sides: their observed counts are
    not complete yet."""
    rows = (plan.idx >= plan.g_idx) & (plan.idx <= m) & plan.valid & ~plan.maturity.immature_at(m)
    observed = float(plan.y[rows].sum())
    fam = plan.family if plan.counts else "gaussian"
    # A prediction interval: events avoided compares with what would have been counted, which
    # varies month to month around the model's expectation (the validity harness found the
    # expectation's interval alone covering the realised total 86% of the time).
    cf, cf_lo, cf_hi = total_with_ci(plan.Xc[rows][:, cols], beta, cov, plan.log_off[rows], fam, Z95, dispersion=disp)
    out = dict(observed_since_go_live=observed, counterfactual_since_go_live=cf,
               counterfactual_low=cf_lo, counterfactual_high=cf_hi)  # fmt: skip
    if sign == 0:
        return out
    if sign < 0:
        benefit_units, lo, hi = cf - observed, cf_lo - observed, cf_hi - observed
    else:
        benefit_units, lo, hi = observed - cf, observed - cf_hi, observed - cf_lo
    out.update(cumulative_benefit=benefit_units, cumulative_benefit_low=lo, cumulative_benefit_high=hi)
    v = benefit.valuation
    if v is not None:
        value = benefit_units * v.gbp_per_unit
        out.update(
            value_gbp=value,
            value_gbp_low=lo * v.gbp_per_unit,
            value_gbp_high=hi * v.gbp_per_unit,
            value_cash_releasing_gbp=value if v.type == "cash_releasing" else 0.0,
            value_non_cash_releasing_gbp=value if v.type == "non_cash_releasing" else 0.0,
            # Headlines add these: a value counts only where the effect is evidenced, and a
            # harm is a cost, never a negative value.
            value_evidenced_gbp=max(value, 0.0) if evidence == "better" else 0.0,
            disbenefit_cost_gbp=max(-value, 0.0) if evidence == "worse" else 0.0,
        )
    return out
