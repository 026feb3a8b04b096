"""Interrupted time series: the Lopez Bernal tutorial's Sicily smoking-ban example, and the fitting code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from benefits.its import design, fit_its, normal_quantile, poisson_irls, two_sided_p

SICILY = Path(__file__).parent / "data" / "sicily_smoking_ban_aces_2002-2006.csv"


@pytest.fixture(scope="module")
def sicily() -> pd.DataFrame:
    return pd.read_csv(SICILY)


def fit_sicily(d, **kw):
    # The ban starts in January 2005, row 36 (time 37).
    return fit_its(d["aces"], intervention=36, t=d["time"], offset=d["stdpop"], month_of_year=d["month"], **kw)


# What the tutorial's published R code (Rcode.R, models 1-3: glm with poisson / quasipoisson and
# Epi::ci.exp) gives for the level change as a rate ratio with its 95% CI.
@pytest.mark.parametrize(
    ("family", "pairs", "expected"),
    [
        ("poisson", 0, (0.894, 0.865, 0.925)),  # model1: Poisson with the standardised population offset
        ("quasipoisson", 0, (0.894, 0.839, 0.953)),  # model2: over-dispersion by Pearson chi2 / df
        ("quasipoisson", 2, (0.885, 0.839, 0.933)),  # model3: plus harmonic(month, 2, 12)
    ],
)
def test_sicily_matches_the_tutorial(sicily, family, pairs, expected):
    r = fit_sicily(sicily, family=family, seasonality=pairs)
    got = (r.level_change.estimate, r.level_change.ci_low, r.level_change.ci_high)
    assert got == pytest.approx(expected, abs=0.0006)
    assert r.scale == "rate_ratio" and r.n_pre == 36 and r.n_post == 23


def test_sicily_dispersion_and_counterfactual(sicily):
    r = fit_sicily(sicily, family="quasipoisson", seasonality=2)
    assert r.dispersion == pytest.approx(2.262, abs=0.001)
    post = r.frame[r.frame["post"]]
    assert post["counterfactual"].notna().all() and r.frame.loc[~r.frame["post"], "counterfactual"].isna().all()
    # without the ban, more episodes: the counterfactual lies above the fitted values by the rate ratio
    assert (post["fitted"] / post["counterfactual"]).to_numpy() == pytest.approx(r.level_change.estimate)
    observed, cf, lo, hi = r.cumulative(r.frame["post"].to_numpy())
    assert observed == sicily["aces"].iloc[36:].sum()
    assert lo < cf < hi and cf - observed > 0  # episodes avoided, CI from the delta method
    assert (cf - observed) / cf == pytest.approx(1 - r.level_change.estimate, abs=0.02)


def test_slope_change_is_reported_on_the_ratio_scale(sicily):
    r = fit_sicily(sicily, family="quasipoisson", seasonality=2, slope_change=True)
    assert r.slope_change is not None and r.slope_change.scale == "rate_ratio"
    assert r.slope_change.ci_low < r.slope_change.estimate < r.slope_change.ci_high
    # the tutorial's conclusion: no evidence of a change in slope
    assert r.slope_change.ci_low < 1 < r.slope_change.ci_high


def test_numpy_irls_equals_statsmodels():
    rng = np.random.default_rng(7)
    n = 48
    t = np.arange(n, dtype=float)
    X, _ = design(t, t >= 24, 24, month_of_year=t % 12 + 1, seasonality=2, slope_change=True)
    exposure = rng.integers(50, 500, n).astype(float)
    y = rng.poisson(exposure * 0.02 * np.exp(-0.4 * (t >= 24)))
    y[:3] = 0  # zeros are fine
    ours = poisson_irls(X, y, np.log(exposure))
    ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=np.log(exposure)).fit()
    assert ours.converged
    assert ours.beta == pytest.approx(np.asarray(ref.params), abs=1e-8)
    assert ours.cov_unscaled == pytest.approx(np.asarray(ref.cov_params()), rel=1e-6, abs=1e-12)
    assert ours.pearson_chi2 == pytest.approx(ref.pearson_chi2, rel=1e-8)


def simulated(n=48, go=24, effect=0.6, seed=3):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    den = rng.integers(900, 1100, n).astype(float)
    rate = 0.1 * np.exp(0.002 * t + 0.05 * np.sin(2 * np.pi * (t % 12) / 12)) * np.where(t >= go, effect, 1.0)
    y = rng.poisson(den * rate).astype(float)
    return t, den, y


@pytest.mark.parametrize("family", ["negbin", "binomial", "quasibinomial", "quasipoisson", "poisson"])
def test_other_families_recover_a_known_step(family):
    t, den, y = simulated()
    r = fit_its(y, intervention=24, offset=den, family=family, seasonality=1, month_of_year=t % 12 + 1)
    truth = 0.6 if r.scale == "rate_ratio" else (0.06 / 0.94) / (0.1 / 0.9)  # odds ratio at p = 0.1 -> 0.06
    assert r.level_change.ci_low < truth < r.level_change.ci_high
    assert r.scale == ("odds_ratio" if "binomial" in family else "rate_ratio")


def test_gaussian_with_newey_west_on_a_rate():
    t, den, y = simulated(effect=0.6)
    r = fit_its(y / den, intervention=24, family="gaussian", seasonality=1, month_of_year=t % 12 + 1)
    assert r.scale == "difference" and r.extra["newey_west_lags"] >= 1
    assert r.level_change.ci_low < -0.04 < r.level_change.ci_high  # about 0.1 -> 0.06 (with the trend)


def test_ramp_months_are_left_out_of_the_fit_but_not_the_counterfactual():
    t, den, y = simulated()
    r = fit_its(y, intervention=24, offset=den, ramp=3)
    fr = r.frame
    assert not fr["in_fit"].iloc[24:27].any() and fr["in_fit"].iloc[27:].all()
    assert fr["counterfactual"].iloc[24:27].notna().all()
    assert r.t0 == 27 and r.n_post == 21


@pytest.mark.parametrize("where", [0, 48])
def test_intervention_at_the_first_or_beyond_the_last_point_is_an_error(where):
    t, den, y = simulated()
    with pytest.raises(ValueError, match="intervention must fall"):
        fit_its(y, intervention=where, offset=den)


def test_intervention_at_the_last_point():
    t, den, y = simulated()
    r = fit_its(y, intervention=47, offset=den)
    assert r.n_post == 1 and np.isfinite(r.level_change.estimate)


def test_too_few_points():
    with pytest.raises(ValueError, match="too few points"):
        fit_its([1.0, 2.0, 3.0], intervention=2, offset=[10.0, 10.0, 10.0])


def test_unknown_family():
    with pytest.raises(ValueError, match="family must be one of"):
        fit_its([1.0] * 10, intervention=5, family="tweedie")


@pytest.mark.parametrize("z", [0.0, 0.5, -1.96, 2.5758, 6.0, -9.0, 30.0])
def test_normal_tail_and_quantile_agree_with_scipy(z):
    from scipy import stats

    assert two_sided_p(z) == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12, abs=1e-300)
    q = stats.norm.cdf(z)
    if 0 < q < 1:
        assert normal_quantile(q) == pytest.approx(stats.norm.ppf(q), rel=1e-9, abs=1e-12)
