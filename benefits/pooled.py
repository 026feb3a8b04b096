"""Programme-level evidence: what a trust planning a system can expect, from the sites that have it.

Two estimators of the programme effect of one kind of system on one measure (a rate ratio):

* `meta_analysis`: a random-effects meta-analysis (DerSimonian-Laird) of the sites' own ITS estimates (log rate ratios and their standard
  errors). It gives the average effect across sites with a 95% CI, the between-site variance
  tau^2, I^2 (the share of variation that is between sites, not chance) and a 95% prediction
  interval for a new site (Higgins, Thompson and Spiegelhalter 2009: t with k-2 df on
  sqrt(tau^2 + se^2)); with fewer than 3 sites there is no prediction interval.
* `staggered_effect`: a stacked difference-in-differences on the site-month panel (Cengiz et al.
  2019; the "clean controls" idea of Callaway and Sant'Anna 2021). For each adoption cohort (sites
  going live in the same month) a stack holds the cohort and the sites not yet live by the end of
  the stack's window, over `pre` months before and `post` months after go-live; ramp-in months
  are dropped. A Poisson GLM with the log denominator as offset, site-by-stack and
  month-by-stack fixed effects and a post-go-live indicator for the cohort gives the rate ratio;
  standard errors are clustered by site, with the Pearson scale for over-dispersion. Shocks every
  site sees in a month (a national decline, a winter) are absorbed by the month effects, which a
  before/after comparison or a single-site ITS cannot do. Assumes parallel trends on the log
  scale between adopters and not-yet adopters, and no anticipation before go-live.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

Z95 = 1.959963984540054


@dataclass(frozen=True)
class PooledEffect:
    method: str
    k: int  # sites
    rate_ratio: float
    low: float
    high: float
    pred_low: float = float("nan")  # 95% prediction interval for a new site (meta-analysis)
    pred_high: float = float("nan")
    tau2: float = float("nan")
    i2: float = float("nan")
    note: str = ""


def dersimonian_laird(y: np.ndarray, se: np.ndarray) -> tuple[float, float, float, float]:
    """(tau^2, I^2, pooled mean, its standard error) by DerSimonian-Laird, tau^2 truncated at 0.

    Written out rather than taken from statsmodels' `combine_effects`: in statsmodels 0.15 it
    leaves tau^2 negative when the heterogeneity statistic Q is below its degrees of freedom,
    and the pooled mean then falls outside the range of the inputs (tests/benefits/test_pooled.py
    has such a case)."""
    w = 1.0 / se**2
    fixed = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - fixed) ** 2))
    df = len(y) - 1
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    tau2 = max(0.0, (q - df) / c) if c > 0 else 0.0
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    wr = 1.0 / (se**2 + tau2)
    mu = float(np.sum(wr * y) / np.sum(wr))
    return tau2, i2, mu, float(math.sqrt(1.0 / np.sum(wr)))


def meta_analysis(log_rr, se) -> PooledEffect:
    """Random-effects pooling of site log rate ratios with their standard errors."""
    from scipy import stats

    y = np.asarray(log_rr, dtype=float)
    s = np.asarray(se, dtype=float)
    keep = np.isfinite(y) & np.isfinite(s) & (s > 0)
    y, s = y[keep], s[keep]
    k = len(y)
    if k == 0:
        return PooledEffect("random-effects meta-analysis", 0, *(float("nan"),) * 3, note="no site estimates")
    if k == 1:
        lo, hi = y[0] - Z95 * s[0], y[0] + Z95 * s[0]
        return PooledEffect("random-effects meta-analysis", 1, math.exp(y[0]), math.exp(lo), math.exp(hi),
                            note="one site: its own estimate; no between-site variation can be estimated")  # fmt: skip
    tau2, i2, mu, se_mu = dersimonian_laird(y, s)
    pred = (float("nan"), float("nan"))
    note = ""
    if k >= 3:
        half = stats.t.ppf(0.975, k - 2) * math.sqrt(tau2 + se_mu**2)
        pred = (math.exp(mu - half), math.exp(mu + half))
    else:
        note = "two sites: no prediction interval"
    return PooledEffect(
        "random-effects meta-analysis (DerSimonian-Laird)", k, math.exp(mu), math.exp(mu - Z95 * se_mu),
        math.exp(mu + Z95 * se_mu), pred[0], pred[1], tau2, i2, note,
    )  # fmt: skip


def _month_index(d) -> int:
    d = pd.Timestamp(d)
    return d.year * 12 + d.month - 1


def stack(panel: pd.DataFrame, pre: int = 12, post: int = 12) -> pd.DataFrame:
    """The stacked panel: per cohort, its sites and the not-yet-live sites over its window.

    `panel`: site, month, numerator, denominator, go_live (NaT for never), ramp_months."""
    p = panel.reset_index(drop=True)
    p["t"] = p["month"].map(_month_index)
    p["g"] = p["go_live"].map(lambda d: _month_index(d) if pd.notna(d) else np.inf)
    p["ramp"] = p["ramp_months"].fillna(0).astype(int)
    cohorts = sorted({g for g in p["g"] if np.isfinite(g)})
    parts = []
    for g in cohorts:
        lo, hi = g - pre, g + post - 1
        treated = p["g"] == g
        ramp_end = g + p.loc[treated, "ramp"].max() if treated.any() else g
        clean = p["g"] > hi + max(0, ramp_end - g)  # not live before the window (ramp included) ends
        part = p[(treated | clean) & (p["t"] >= lo) & (p["t"] <= hi + (ramp_end - g))].copy()
        mine = part["g"] == g
        part = part[~(mine & (part["t"] >= g) & (part["t"] < part["g"] + part["ramp"]))]
        if not (part["g"] == g).any() or (part["g"] == g).all():
            continue
        part["stack"] = int(g)
        part["treated_post"] = (part["g"] == g) & (part["t"] >= g)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else p.iloc[0:0].assign(stack=0, treated_post=False)


def staggered_effect(panel: pd.DataFrame, pre: int = 12, post: int = 12) -> PooledEffect:
    """Stacked difference-in-differences rate ratio with not-yet-live sites as controls."""
    import statsmodels.api as sm

    s = stack(panel, pre, post)
    s = s[(s["denominator"] > 0) & s["numerator"].notna()]
    method = "stacked difference-in-differences (not-yet-live sites as controls)"
    if s.empty or not s["treated_post"].any():
        return PooledEffect(method, 0, *(float("nan"),) * 3, note="no cohort has clean controls over its window")
    site_fe = pd.get_dummies(s["site"].astype(str) + "|" + s["stack"].astype(str), drop_first=True, dtype=float)
    # Each stack's own first month is its reference: with the site dummies already spanning every
    # stack, one more month dummy per stack would make the design singular (some statsmodels and
    # numpy versions then fail in the cluster covariance instead of taking a pseudo-inverse).
    month_fe = pd.get_dummies(s["t"].astype(str) + "|" + s["stack"].astype(str), dtype=float)
    first_months = s.groupby("stack")["t"].min()
    month_fe = month_fe.drop(columns=[f"{t}|{stack}" for stack, t in first_months.items()])
    X = pd.concat([pd.Series(1.0, index=s.index, name="const"), s["treated_post"].astype(float), site_fe, month_fe], axis=1)
    model = sm.GLM(s["numerator"].to_numpy(float), X.to_numpy(float), family=sm.families.Poisson(),
                   offset=np.log(s["denominator"].to_numpy(float)))  # fmt: skip
    groups = pd.factorize(s["site"])[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
        except (np.linalg.LinAlgError, ValueError) as e:
            return PooledEffect(method, 0, *(float("nan"),) * 3, note=f"the stacked model could not be fitted: {e}")
    # Over-dispersion: the sandwich is already robust to it; the Pearson scale is reported only.
    b, se = float(res.params[1]), float(res.bse[1])
    k = int(s.loc[s["treated_post"], "site"].nunique())
    if not (math.isfinite(b) and math.isfinite(se) and abs(b) < 20 and se < 20):
        return PooledEffect(method, k, *(float("nan"),) * 3, note="the stacked model could not be estimated (too few events)")
    return PooledEffect(method, k, math.exp(b), math.exp(b - Z95 * se), math.exp(b + Z95 * se),
                        note=f"{s['stack'].nunique()} cohort stacks, {s['site'].nunique()} sites")  # fmt: skip


def programme_effects(fact_latest: pd.DataFrame, series: pd.DataFrame, benefits: pd.DataFrame,
                      max_stacked_rows: int = 60_000) -> pd.DataFrame:  # fmt: skip
    """One PROGRAMME_EFFECT row per (measure, system) with benefits at two or more sites.

    `fact_latest`: fact_benefit latest rows (site_code, measure_code, project, effect_latest(_low/_high),
    its_effect_scale). `series`: site_code, measure_code, month, numerator, denominator.
    `benefits`: site_code, measure_code, project, go_live, ramp_months (every registered benefit).
    Sites with a benefit of another system on the same measure are left out of the controls."""
    from benefits.tables import PROGRAMME_EFFECT

    cols = list(PROGRAMME_EFFECT.columns)
    rows = []
    named = benefits[benefits["project"].notna()]
    for (measure, system), group in named.groupby(["measure_code", "project"], sort=True):
        if group["site_code"].nunique() < 2:
            continue
        est = fact_latest[(fact_latest["measure_code"] == measure) & (fact_latest["project"] == system)]
        est = est[(est["its_effect_scale"] == "rate_ratio") & (est["effect_latest_low"] > 0)].sort_values("site_code")
        se = (np.log(est["effect_latest_high"]) - np.log(est["effect_latest_low"])) / (2 * Z95)
        meta = meta_analysis(np.log(est["effect_latest"]), se)
        others = set(benefits.loc[(benefits["measure_code"] == measure) & (benefits["project"] != system), "site_code"])
        first = group.sort_values("go_live").drop_duplicates("site_code")
        data = series[(series["measure_code"] == measure) & ~series["site_code"].isin(others - set(first["site_code"]))]
        # Sorted, so that a rerun sums in the same order and the mart is identical bit for bit.
        panel = data.rename(columns={"site_code": "site"}).merge(
            first[["site_code", "go_live", "ramp_months"]].rename(columns={"site_code": "site"}), on="site", how="left"
        ).sort_values(["site", "month"], kind="stable")
        notes = [meta.note] if meta.note else []
        if len(panel) > max_stacked_rows:
            stag = PooledEffect("stacked", 0, *(float("nan"),) * 3)
            notes.append(f"stacked estimate skipped: {len(panel):,} site-months is more than {max_stacked_rows:,}")
        else:
            stag = staggered_effect(panel)
            notes.append(stag.note)
        rows.append({
            "measure_code": measure, "system": system, "sites": int(group["site_code"].nunique()),
            "meta_sites": meta.k, "meta_rate_ratio": meta.rate_ratio, "meta_low": meta.low, "meta_high": meta.high,
            "meta_prediction_low": meta.pred_low, "meta_prediction_high": meta.pred_high, "meta_i2": meta.i2,
            "meta_tau2": meta.tau2, "staggered_sites": stag.k, "staggered_rate_ratio": stag.rate_ratio,
            "staggered_low": stag.low, "staggered_high": stag.high, "note": "; ".join(n for n in notes if n),
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=cols)
    # Ten significant digits: the stacked fit's pseudo-inverse may differ in the last bits between
    # runs (threaded BLAS), and a rerun must give the same warehouse.
    for col in out.select_dtypes("float").columns:
        out[col] = out[col].map(lambda v: float(f"{v:.10g}") if math.isfinite(v) else v)
    return out
