-- grain: trust type x measure x financial quarter
-- key: trust_type, measure_code, financial_year, financial_quarter
-- materialized: view
-- description: national measures per trust type and financial quarter, summed over the organisations of that type (see
-- dim_site); suppressed jointly with the site figures
-- column trust_type: trust type (as in dim_site; unknown groups organisations not configured here)
-- column measure_code: the measure (see dim_measure)
-- column financial_year: NHS financial year, as 2024/25
-- column financial_quarter: quarter of the financial year: 1 = April to June ... 4 = January to March
-- column financial_quarter_label: e.g. 2024/25 Q1
-- column quarter_start: first day of the financial quarter
-- column months: number of months with data in the quarter
-- column sites: number of organisations with data in the group and period
-- column numerator: the measure's numerator summed over the organisations of the type and the quarter's months; null when suppressed
-- column denominator: the measure's denominator summed over the organisations of the type and the quarter's months (null for counts); null when suppressed
-- column value: numerator x multiplier / denominator (the numerator for counts); null when suppressed or the
-- denominator is 0
-- column suppressed: true when the figures are withheld
-- column suppression_reason: null when published; small_count, complementary or shared_count when withheld
{% set grouping = 'trust_type' %}
{% set period_type = 'quarter' %}
{% include "macros/national_rollup.sql" %}
