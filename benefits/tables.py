"""The mart tables the benefits engine writes (not SQL models), described once.

The warehouse DDL, the data dictionary and the report all read these specs, so a column is
named, typed and explained in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MartTable:
    name: str  # table name inside `national` and/or `local_<ods>`
    grain: str
    key: str
    description: str
    columns: dict[str, tuple[str, str]]  # column -> (logical type in dataset_contracts.contracts.TYPES, description)
    scopes: tuple[str, ...] = ("national", "local")

    @property
    def types(self) -> dict[str, str]:
        return {c: t for c, (t, _) in self.columns.items()}


FACT_BENEFIT = MartTable(
    name="fact_benefit",
    grain="benefit x as-of month",
    key="site_code, benefit_id, as_of_month",
    description=(
        "Each planned benefit (and recorded unanticipated benefit or disbenefit) as it stood at the end of each "
        "month since go-live, using only data up to that month: SPC variation and assurance, the interrupted "
        "time series effect refitted on the data to date, cumulative benefit and its value, and the status with "
        "its reason in words. This table is also the status timeline (one status per benefit per month since "
        "go-live); `is_latest` picks the current row. The national mart holds national-scope benefits, withholding "
        "the figures of months the national facts withhold and every figure over a window of months that holds one "
        "(a mean, a limit, a running total since go-live and the benefit and values made from it), as windows that "
        "differ by a withheld month would give it away by subtraction; a site's local mart holds all of that site's, "
        "in full."
    ),
    columns={
        "site_code": ("varchar", "ODS code of the trust"),
        "benefit_id": ("varchar", "the benefit's id in the site's register"),
        "title": ("varchar", "short title of the benefit"),
        "project": ("varchar", "project or system that should deliver it"),
        "measure_code": ("varchar", "measure the benefit is tracked on (see dim_measure)"),
        "scope": ("varchar", "national or local"),
        "kind": ("varchar", "planned, unanticipated_benefit or disbenefit"),
        "category": ("varchar", "benefit category (safety_and_quality, financial, ...)"),
        "owner": ("varchar", "who answers for the benefit"),
        "as_of_month": ("date", "the month this row describes the benefit at (data up to its end)"),
        "is_latest": ("boolean", "true on the row for the latest month with data"),
        "go_live_month": ("date", "month the change went live"),
        "ramp_months": ("bigint", "months after go-live while the effect builds (left out of the ITS fit)"),
        "baseline_start": ("date", "first month of the baseline period"),
        "baseline_end": ("date", "last month of the baseline period"),
        "baseline_months": ("bigint", "months with data in the baseline period"),
        "months_since_go_live": ("bigint", "whole months from go-live to as_of_month"),
        "post_go_live_months": ("bigint", "months with data from go-live to as_of_month"),
        "baseline_mean": ("double", "mean monthly value of the measure over the baseline period (the SPC centre line); national mart: null when the baseline period holds a withheld month"),
        "baseline_lpl": ("double", "lower process limit from the baseline period; national mart: null when the baseline period holds a withheld month"),
        "baseline_upl": ("double", "upper process limit from the baseline period; national mart: null when the baseline period holds a withheld month"),
        "latest_value": ("double", "value of the measure in the latest month with data up to as_of_month"),
        "latest_suppressed": ("boolean", "national mart only: the as-of month is withheld (a small count, or a "
                              "complementary month protecting one), so latest_value and the change are"),
        "latest_provisional": ("boolean", "the latest month is not complete yet (the measure's warm-up months or "
                               "maturity period, see dim_measure), so it is left out of every estimate"),
        "change_abs": ("double", "latest_value minus baseline_mean; national mart: null when either is"),
        "change_pct": ("double", "change_abs as a percentage of baseline_mean; national mart: null when change_abs is"),
        "improvement_direction": ("varchar", "higher, lower or neutral: which way is better"),
        "target_value": ("double", "target value of the measure"),
        "target_month": ("date", "month by which the target should be met"),
        "target_met": ("boolean", "the current process mean (current_mean) meets the target in the improvement direction"),
        "variation": ("varchar", "SPC point type of the latest point against the baseline limits (the variation icon)"),
        "assurance": ("varchar", "consistent_pass, consistent_fail or inconsistent: the target against the current "
                      "process limits (chart rebased at go-live and after ramp-in); null without a target"),
        "latest_rule": ("varchar", "special-cause rule that flagged the latest point (outside_limits, trend, "
                        "two_in_three, run), null for common cause"),
        "improvement_streak": ("bigint", "consecutive special-cause improvement months ending at as_of_month"),
        "concern_streak": ("bigint", "consecutive special-cause concern months ending at as_of_month"),
        "improvement_months": ("bigint", "special-cause improvement months since go-live"),
        "concern_months": ("bigint", "special-cause concern months since go-live"),
        "current_mean": ("double", "centre line of the latest rebased group (the process since go-live / ramp-in), to as_of_month; national mart: null when its months hold a withheld month"),
        "current_lpl": ("double", "lower process limit of the latest rebased group; national mart: null when its months hold a withheld month"),
        "current_upl": ("double", "upper process limit of the latest rebased group; national mart: null when its months hold a withheld month"),
        "its_model": ("varchar", "the interrupted time series model fitted, in words; null when not fitted"),
        "its_effect_scale": ("varchar", "rate_ratio (log link) or difference (gaussian): the scale of the ITS effects"),
        "its_points_pre": ("bigint", "months before go-live in the ITS fit"),
        "its_points_post": ("bigint", "months after ramp-in in the ITS fit"),
        "level_change": ("double", "ITS level change at the first month after ramp-in (rate ratio or difference)"),
        "level_change_low": ("double", "lower 95% confidence limit of level_change"),
        "level_change_high": ("double", "upper 95% confidence limit of level_change"),
        "level_change_p": ("double", "two-sided p-value of the level change"),
        "slope_change": ("double", "ITS change in slope per month (ratio per month or difference); null when not fitted"),
        "slope_change_low": ("double", "lower 95% confidence limit of slope_change"),
        "slope_change_high": ("double", "upper 95% confidence limit of slope_change"),
        "effect_latest": ("double", "ITS effect at as_of_month: level change plus slope change to date"),
        "effect_latest_low": ("double", "lower 95% confidence limit of effect_latest"),
        "effect_latest_high": ("double", "upper 95% confidence limit of effect_latest"),
        "effect_evidence": ("varchar", "better or worse when effect_latest's 95% CI excludes no change in that "
                            "direction, none when it includes it; null without an estimate"),
        "its_dispersion": ("double", "over-dispersion (quasi-Poisson Pearson chi2 / df) or residual variance"),
        "its_autocorrelation_p": ("double", "Ljung-Box test (6 lags) of the ITS residuals for autocorrelation, p-value; "
                                  "below 0.05 the effect's interval may be too narrow"),
        "observed_since_go_live": ("double", "sum of the measure's numerator from go-live to as_of_month; national mart: null from the first withheld month after go-live on (a running total)"),
        "counterfactual_since_go_live": ("double", "the same sum had the change not happened (ITS counterfactual)"),
        "counterfactual_low": ("double", "lower 95% confidence limit of counterfactual_since_go_live"),
        "counterfactual_high": ("double", "upper 95% confidence limit of counterfactual_since_go_live"),
        "cumulative_benefit": ("double", "benefit since go-live in units of the numerator (events avoided, bed "
                               "days saved, extra patients seen in time): counterfactual minus observed when lower "
                               "is better, observed minus counterfactual when higher is better; national mart: null from the first withheld month after go-live on (a running total)"),
        "cumulative_benefit_low": ("double", "lower 95% confidence limit of cumulative_benefit; national mart: null from the first withheld month after go-live on (a running total)"),
        "cumulative_benefit_high": ("double", "upper 95% confidence limit of cumulative_benefit; national mart: null from the first withheld month after go-live on (a running total)"),
        "benefit_unit": ("varchar", "what one unit of cumulative_benefit is"),
        "valuation_type": ("varchar", "cash_releasing, non_cash_releasing or public_money (value to the public purse "
                           "outside the trust); null when the benefit is not valued"),
        "gbp_per_unit": ("double", "GBP value of one unit of benefit"),
        "valuation_source": ("varchar", "where the unit value comes from"),
        "value_gbp": ("double", "cumulative_benefit x gbp_per_unit; national mart: null from the first withheld month after go-live on (a running total)"),
        "value_gbp_low": ("double", "lower 95% confidence limit of value_gbp; national mart: null from the first withheld month after go-live on (a running total)"),
        "value_gbp_high": ("double", "upper 95% confidence limit of value_gbp; national mart: null from the first withheld month after go-live on (a running total)"),
        "value_cash_releasing_gbp": ("double", "value_gbp when the valuation is cash-releasing, else 0; national mart: null from the first withheld month after go-live on (a running total)"),
        "value_non_cash_releasing_gbp": ("double", "value_gbp when the valuation is non-cash-releasing, else 0; national mart: null from the first withheld month after go-live on (a running total)"),
        "value_evidenced_gbp": ("double", "value_gbp when effect_evidence is better (never below 0) and the "
                                "status has enough data, else 0: the value every headline total adds; national mart: null from the first withheld month after go-live on (a running total)"),
        "disbenefit_cost_gbp": ("double", "minus value_gbp when effect_evidence is worse and the status has "
                                "enough data, else 0: the cost of a harm, shown separately from value; national mart: null from the first withheld month after go-live on (a running total)"),
        "status_signal": ("varchar", "the status the decision table gives for this month alone"),
        "register_version": ("varchar", "content hash of the site's benefit register the row was computed with "
                             "(meta.register_version says what changed between versions)"),
        "status": ("varchar", "realised, emerging, target_met_unattributed, not_yet_evident, disbenefit or "
                   "insufficient_data (docs/benefits.md, decision table); changes only once status_signal has held "
                   "for 3 consecutive months"),
        "status_reason": ("varchar", "why the status was given, in words; national mart: once a month to date is "
                          "withheld, without any figure of the data (no month's value, mean or total), and naming what "
                          "is withheld"),
    },
)

FACT_BENEFIT_SPC = MartTable(
    name="fact_benefit_spc",
    grain="benefit x month of its measure series",
    key="site_code, benefit_id, month",
    description=(
        "The Making Data Count SPC chart of each benefit's measure, as of the latest month: limits from the "
        "baseline period extended past go-live (mean, lpl, upl, point_type: the evidence of change), the same "
        "series rebased at go-live and at the end of ramp-in (rebased_*: the new process), and the interrupted "
        "time series fit and counterfactual on the measure's value scale. The national mart withholds the values "
        "of the months the national facts withhold (suppressed), and the limits of every chart group whose limits "
        "are computed over one; the ITS fit and counterfactual (model estimates) stay."
    ),
    columns={
        "site_code": ("varchar", "ODS code of the trust"),
        "benefit_id": ("varchar", "the benefit's id in the site's register"),
        "measure_code": ("varchar", "measure charted"),
        "month": ("date", "month of the point"),
        "value": ("double", "the measure's value (null when suppressed)"),
        "numerator": ("double", "the measure's numerator (null when suppressed)"),
        "denominator": ("double", "the measure's denominator (null when suppressed)"),
        "suppressed": ("boolean", "national mart: the month is withheld (a count from 1 to the threshold, or a "
                   "complementary month protecting one), so its values are"),
        "segment": ("varchar", "pre_baseline, baseline, pre_go_live, ramp_in or post_go_live"),
        "spc_group": ("bigint", "limits group of the baseline chart: 0 before the baseline, then 1 (limits fixed from the baseline)"),
        "in_limits": ("boolean", "the point is one of those the baseline limits were computed from"),
        "mean": ("double", "centre line: the baseline mean, extended past go-live; national mart: null when the months its "
                 "limits are computed from (in_limits) hold a withheld month, as are lpl, upl, near_lpl and near_upl"),
        "lpl": ("double", "lower process limit (mean - 2.66 x mean moving range)"),
        "upl": ("double", "upper process limit (mean + 2.66 x mean moving range)"),
        "near_lpl": ("double", "lower 2-sigma line (two thirds of the way to the lower limit)"),
        "near_upl": ("double", "upper 2-sigma line"),
        "point_type": ("varchar", "common_cause, special_cause_improvement, special_cause_concern, "
                       "special_cause_neutral_high or special_cause_neutral_low"),
        "rule": ("varchar", "special-cause rule that flagged the point: outside_limits, trend, two_in_three or run"),
        "signal": ("varchar", "the rule in words, e.g. 'part of a run of 7 points below the mean'"),
        "short_group_warning": ("boolean", "the baseline limits come from fewer than 12 points (trial limits)"),
        "rebased_group": ("bigint", "group of the rebased chart (rebased at baseline start, go-live and end of ramp-in)"),
        "rebased_mean": ("double", "centre line of the point's rebased group; national mart: null when the group holds a withheld "
                         "month, as are the group's other rebased_ limits"),
        "rebased_lpl": ("double", "lower process limit of the rebased group"),
        "rebased_upl": ("double", "upper process limit of the rebased group"),
        "rebased_near_lpl": ("double", "lower 2-sigma line of the rebased group"),
        "rebased_near_upl": ("double", "upper 2-sigma line of the rebased group"),
        "rebased_point_type": ("varchar", "point type on the rebased chart"),
        "rebased_rule": ("varchar", "special-cause rule on the rebased chart"),
        "rebased_short_group_warning": ("boolean", "the rebased group has fewer than 12 points"),
        "target": ("double", "the benefit's target value"),
        "improvement_direction": ("varchar", "higher, lower or neutral"),
        "its_in_fit": ("boolean", "the month was used in the interrupted time series fit (ramp-in months are not)"),
        "its_fitted": ("double", "ITS fitted value on the measure's value scale"),
        "its_counterfactual": ("double", "ITS counterfactual value (no change at go-live), from go-live on"),
        "its_counterfactual_low": ("double", "lower 95% confidence limit of its_counterfactual"),
        "its_counterfactual_high": ("double", "upper 95% confidence limit of its_counterfactual"),
        "provisional": ("boolean", "the month is not complete yet (warm-up or maturity period of the measure): "
                        "shown, but left out of the SPC limits, the ITS fit and the cumulative benefit"),
    },
)

FACT_UNPLANNED_CHANGE = MartTable(
    name="fact_unplanned_change",
    grain="special-cause signal in a site's measure series not covered by a benefit",
    key="site_code, measure_code, first_month",
    description=(
        "Candidate unanticipated benefits and disbenefits: runs of special-cause points (at least 3 consecutive) "
        "on each site's measures against limits from the series' first 12 months, scanning only months no "
        "registered benefit covers (a benefit covers its measure, and measures moved by it, from its go-live) "
        "and no provisional months, each confirmed by a level change beyond the series' season and trend "
        "(p < 0.0001, Bonferroni over the months it is placed at) seen for at least 6 months. The national mart "
        "lists national measures, without the means (baseline_mean, signal_mean, size_abs, size_pct) of a signal "
        "whose baseline or own months include a month it withholds; a site's local mart lists its own."
    ),
    columns={
        "site_code": ("varchar", "ODS code of the trust"),
        "measure_code": ("varchar", "measure with the signal"),
        "first_month": ("date", "first month of the signal"),
        "last_month": ("date", "last month of the signal"),
        "months": ("bigint", "months in the signal"),
        "rule": ("varchar", "special-cause rule that flagged most of its months (outside_limits, trend, two_in_three, run)"),
        "direction": ("varchar", "improvement, concern or neutral (measure without an improvement direction)"),
        "point_type": ("varchar", "SPC point type of the signal's months"),
        "baseline_start": ("date", "first month of the limits' baseline"),
        "baseline_end": ("date", "last month of the limits' baseline"),
        "baseline_mean": ("double", "centre line (mean of the baseline months)"),
        "signal_mean": ("double", "mean value over the signal's months"),
        "size_abs": ("double", "signal_mean minus baseline_mean"),
        "size_pct": ("double", "size_abs as a percentage of baseline_mean"),
        "ongoing": ("boolean", "the signal runs to the last month scanned"),
        "scanned_to": ("date", "last month scanned for this site and measure"),
        "covered_from": ("date", "go-live of the benefit covering this measure (months from then on are not scanned)"),
        "description": ("varchar", "the signal in words"),
    },
)

VALUE_SUMMARY = MartTable(
    name="benefit_value_summary",
    grain="site (one row per site with benefits)",
    key="site_code",
    description=(
        "The headline figures of each site's benefits at their latest month: evidenced value to date with its "
        "95% interval, split cash-releasing / non-cash-releasing / public money, and the cost of evidenced disbenefits, shown "
        "separately. Reports and the command line add these columns; summing value_gbp instead would count "
        "chance (a point value under no effect is positive or negative by luck). The national mart holds "
        "national-scope benefits and adds only their published values (a value withheld nationally counts 0 there); "
        "a site's local mart holds all of that site's."
    ),
    columns={
        "site_code": ("varchar", "ODS code of the trust"),
        "as_of_month": ("date", "latest as-of month among the site's benefits"),
        "benefits": ("bigint", "benefits evaluated"),
        "valued_benefits": ("bigint", "benefits with a valuation"),
        "evidenced_benefits": ("bigint", "valued benefits whose value is evidenced (value_evidenced_gbp > 0)"),
        "value_evidenced_gbp": ("double", "sum of value_evidenced_gbp"),
        "value_evidenced_gbp_low": ("double", "lower limit of an approximate 95% interval of value_evidenced_gbp"),
        "value_evidenced_gbp_high": ("double", "upper limit of that interval"),
        "value_evidenced_cash_releasing_gbp": ("double", "the cash-releasing part of value_evidenced_gbp"),
        "value_evidenced_non_cash_releasing_gbp": ("double", "the non-cash-releasing part of value_evidenced_gbp"),
        "value_evidenced_public_money_gbp": ("double", "the part of value_evidenced_gbp that falls to the public purse "
                                             "outside the trust (valuation type public_money)"),
        "evidenced_disbenefits": ("bigint", "valued benefits with an evidenced harm (disbenefit_cost_gbp > 0)"),
        "disbenefit_cost_gbp": ("double", "sum of disbenefit_cost_gbp: the cost of evidenced harms, a positive number"),
    },
)

PUBLISHED_BENEFIT = MartTable(
    name="published_benefit",
    grain="benefit x published as-of month",
    key="site_code, benefit_id, as_of_month",
    description=(
        "What was reported for a month, frozen by `benefits publish --as-of YYYY-MM`: the fact_benefit row of that "
        "month as it stood when published, with the register version it used. Later runs never change a row here; "
        "when they would say something different, benefit_restatement records it."
    ),
    columns={**FACT_BENEFIT.columns, "published_month": ("date", "the month in which it was published (the exact time "
                                                                "is in meta.publication)")},
)

BENEFIT_RESTATEMENT = MartTable(
    name="benefit_restatement",
    grain="published benefit-month x figure that the latest run gives differently",
    key="site_code, benefit_id, as_of_month, field",
    description=(
        "Published figures that the latest run would state differently: the published and the current value, and "
        "the cause: `register` when the benefit's register entry changed since publication (the versions are "
        "given), `data` otherwise (new or corrected data, or a changed method). Rebuilt on every run; the "
        "published rows themselves never change."
    ),
    columns={
        "site_code": ("varchar", "ODS code of the trust"),
        "benefit_id": ("varchar", "the benefit's id in the site's register"),
        "as_of_month": ("date", "the published month"),
        "scope": ("varchar", "national or local"),
        "field": ("varchar", "the fact_benefit column that differs"),
        "published_value": ("varchar", "the value as published"),
        "current_value": ("varchar", "the value the latest run gives"),
        "cause": ("varchar", "register or data"),
        "published_register_version": ("varchar", "register version the published row used"),
        "current_register_version": ("varchar", "register version of the latest run"),
        "published_month": ("date", "the month in which it was published"),
    },
)

PROGRAMME_EFFECT = MartTable(
    name="fact_programme_effect",
    grain="measure x system (the benefits' project)",
    key="measure_code, system",
    description=(
        "What a trust planning a system can expect: the effect of one kind of system on one measure across the "
        "sites that have it (their benefits' `project`), by two estimators with 95% intervals: a random-effects "
        "meta-analysis of the sites' ITS effects (with I-squared and a prediction interval for a new site), and a "
        "stacked difference-in-differences on the site-month panel using sites not yet live as controls. "
        "benefits/pooled.py documents both; docs/validity.md reports their coverage on simulated programmes."
    ),
    columns={
        "measure_code": ("varchar", "measure (see dim_measure)"),
        "system": ("varchar", "the kind of system: the `project` of the benefits pooled"),
        "sites": ("bigint", "sites with a benefit of this system on this measure"),
        "meta_sites": ("bigint", "sites with an ITS estimate, pooled by the meta-analysis"),
        "meta_rate_ratio": ("double", "random-effects pooled rate ratio"),
        "meta_low": ("double", "lower 95% confidence limit"),
        "meta_high": ("double", "upper 95% confidence limit"),
        "meta_prediction_low": ("double", "lower limit of the 95% prediction interval for a new site (3+ sites)"),
        "meta_prediction_high": ("double", "upper limit of that prediction interval"),
        "meta_i2": ("double", "I-squared: share of the variation between sites that is not chance"),
        "meta_tau2": ("double", "between-site variance of the log rate ratio"),
        "staggered_sites": ("bigint", "adopting sites in the stacked estimate"),
        "staggered_rate_ratio": ("double", "stacked difference-in-differences rate ratio"),
        "staggered_low": ("double", "lower 95% confidence limit (standard errors clustered by site)"),
        "staggered_high": ("double", "upper 95% confidence limit"),
        "note": ("varchar", "what the estimates rest on, or why one is missing"),
    },
    scopes=("national",),
)

INVESTMENT_RETURN = MartTable(
    name="benefit_investment_return",
    grain="site x project, plus one row for the whole trust",
    key="site_code, level, project",
    description=(
        "Evidenced value against investment, per project (the benefits naming it, with its own and their "
        "investment) and per trust (everything), at the site's latest month: value to date split cash-releasing / "
        "non-cash-releasing / public money with its 95% interval, the investment spent to date (one-off plus "
        "recurring accrued monthly), the cost of evidenced disbenefits, the net return and ROI with intervals, and "
        "the payback month. Costs are positive numbers in cost columns; a negative net return is a net cost. "
        "Investment comes from the register (`investment:` on a benefit, `projects:` for a project's)."
    ),
    columns={
        "site_code": ("varchar", "ODS code of the trust"),
        "level": ("varchar", "project, or trust for the whole trust's row"),
        "project": ("varchar", "the project (null on the trust row and for benefits without a project)"),
        "as_of_month": ("date", "the month the figures are to the end of (the site's latest month)"),
        "benefits": ("bigint", "benefits counted"),
        "valued_benefits": ("bigint", "of which valued"),
        "evidenced_benefits": ("bigint", "of which with evidenced value"),
        "investment_one_off_gbp": ("double", "one-off investment (all of it, spent or not)"),
        "investment_recurring_gbp_per_year": ("double", "recurring investment a year"),
        "investment_to_date_gbp": ("double", "investment spent to the end of as_of_month: a cost"),
        "investment_sources": ("varchar", "where the investment figures come from"),
        "value_evidenced_gbp": ("double", "evidenced value to date (sum of the benefits' value_evidenced_gbp)"),
        "value_evidenced_gbp_low": ("double", "lower limit of its approximate 95% interval"),
        "value_evidenced_gbp_high": ("double", "upper limit of that interval"),
        "value_evidenced_cash_releasing_gbp": ("double", "the cash-releasing part"),
        "value_evidenced_non_cash_releasing_gbp": ("double", "the non-cash-releasing part"),
        "value_evidenced_public_money_gbp": ("double", "the part that falls to the public purse outside the trust"),
        "disbenefit_cost_gbp": ("double", "cost of evidenced disbenefits to date: a cost"),
        "net_return_gbp": ("double", "value_evidenced_gbp minus disbenefit_cost_gbp minus investment_to_date_gbp; "
                           "below 0 a net cost"),
        "net_return_gbp_low": ("double", "net_return_gbp at the low end of the value's interval"),
        "net_return_gbp_high": ("double", "net_return_gbp at the high end of the value's interval"),
        "roi": ("double", "return on investment to date: net_return_gbp / investment_to_date_gbp (0.25 = 25%); null "
                "without investment"),
        "roi_low": ("double", "roi at the low end of the value's interval"),
        "roi_high": ("double", "roi at the high end of the value's interval"),
        "payback_month": ("date", "first month from which evidenced value less disbenefit costs has covered the "
                          "investment to date in every month to as_of_month; null when not (yet) paid back"),
        "who_gains": ("varchar", "who gains, from the register (project and its benefits)"),
        "who_bears_cost": ("varchar", "who bears the cost, from the register"),
    },
    scopes=("local",),
)

SIGNAL_TRIAGE = MartTable(
    name="signal_triage",
    grain="unplanned-change signal (kept across runs)",
    key="signal_id",
    description=(
        "What the site decided about each signal of the unplanned-change scan: new, accepted as an unanticipated "
        "benefit or a disbenefit (then tracked in fact_benefit under benefit_id), or rejected with a reason. Kept "
        "across runs: each run refreshes the figures and keeps the decision; a rejected signal reopens as new when "
        "its size moves by more than half or its first month moves (docs/benefits.md, triage). Decisions are made "
        "with `benefits signals accept|reject`; meta.signal_triage_history holds every decision and reopening."
    ),
    columns={
        "signal_id": ("varchar", "stable id: a hash of site, measure, side (point_type) and first month"),
        "site_code": ("varchar", "ODS code of the trust"),
        "measure_code": ("varchar", "measure with the signal"),
        "point_type": ("varchar", "SPC point type of the signal's months (its side)"),
        "first_month": ("date", "first month of the signal"),
        "direction": ("varchar", "improvement, concern or neutral"),
        "last_month": ("date", "last month of the signal in the latest scan that found it"),
        "months": ("bigint", "months in the signal"),
        "baseline_start": ("date", "first month of the scan's baseline"),
        "baseline_end": ("date", "last month of the scan's baseline"),
        "baseline_mean": ("double", "mean of the baseline months"),
        "signal_mean": ("double", "mean over the signal's months"),
        "size_abs": ("double", "signal_mean minus baseline_mean, as last found"),
        "size_pct": ("double", "size_abs as a percentage of baseline_mean"),
        "description": ("varchar", "the signal in words"),
        "detected": ("boolean", "the latest scan of the site found the signal (false once it is tracked as a "
                     "benefit, whose go-live ends the scan, or when it has gone or moved)"),
        "first_detected_at": ("timestamp", "when a scan first found it (UTC)"),
        "last_scanned_at": ("timestamp", "when a scan last found it (UTC)"),
        "state": ("varchar", "new, accepted_benefit, accepted_disbenefit or rejected"),
        "reason": ("varchar", "why rejected: data_artefact, known_cause, seasonal or other"),
        "note": ("varchar", "the decision in the decider's words"),
        "decided_by": ("varchar", "who decided"),
        "decided_at": ("timestamp", "when (UTC)"),
        "decided_size_abs": ("double", "size_abs when decided: the yardstick of a material change"),
        "previous_decision": ("varchar", "the decision a reopened signal had, in words"),
        "reopened_from": ("varchar", "signal_id of the decided signal this one reopened (itself when its size moved)"),
        "benefit_id": ("varchar", "the benefit an accepted signal is tracked as (fact_benefit.benefit_id)"),
    },
    scopes=("local",),
)

OBSERVED_BENEFIT = MartTable(
    name="observed_benefit",
    grain="observation recorded by staff",
    key="site_code, observation_id",
    description=(
        "Benefits and disbenefits staff have observed that no measure captures: a narrative, who gains and who "
        "bears the cost, recorded with `benefits observed add`. Kept across runs; shown in the site report beside "
        "the measured benefits."
    ),
    columns={
        "site_code": ("varchar", "ODS code of the trust"),
        "observation_id": ("varchar", "id within the site (OBS-1, OBS-2, ...)"),
        "kind": ("varchar", "benefit or disbenefit"),
        "title": ("varchar", "short title"),
        "narrative": ("varchar", "what was observed, in words"),
        "project": ("varchar", "project or system it is attributed to"),
        "who_gains": ("varchar", "who gains (patients, a staff group, the trust, the wider system)"),
        "who_bears_cost": ("varchar", "who bears the cost"),
        "observed_from": ("date", "month from which it was observed"),
        "recorded_by": ("varchar", "who recorded it"),
        "recorded_at": ("timestamp", "when (UTC)"),
    },
    scopes=("local",),
)

BENEFIT_EVIDENCE = MartTable(
    name="benefit_evidence",
    grain="evidence item of a benefit",
    key="site_code, benefit_id, item",
    description=(
        "Qualitative evidence behind each benefit, from the register (`evidence:` on a benefit): narratives, quotes, "
        "document references and survey results, dated and with their author. Shown beside the figures in the site "
        "report. The register refuses text that looks like a patient identifier (an NHS number that passes the "
        "Modulus 11 check, a date of birth)."
    ),
    columns={
        "site_code": ("varchar", "ODS code of the trust"),
        "benefit_id": ("varchar", "the benefit the evidence is for"),
        "item": ("bigint", "position of the item in the benefit's register entry (1 = first)"),
        "evidence_date": ("date", "when the evidence was gathered or written"),
        "kind": ("varchar", "narrative, quote, document or survey"),
        "text": ("varchar", "the evidence in words"),
        "author": ("varchar", "who wrote or gave it"),
        "reference": ("varchar", "document reference, link or survey name"),
        "shared": ("boolean", "the site lets it travel with a Blueprint to other trusts"),
    },
    scopes=("local",),
)

MART_TABLES: tuple[MartTable, ...] = (
    FACT_BENEFIT, FACT_BENEFIT_SPC, FACT_UNPLANNED_CHANGE, VALUE_SUMMARY, PUBLISHED_BENEFIT, BENEFIT_RESTATEMENT,
    PROGRAMME_EFFECT, INVESTMENT_RETURN, SIGNAL_TRIAGE, OBSERVED_BENEFIT, BENEFIT_EVIDENCE,
)
