-- grain: region x measure x financial quarter
-- key: region, measure_code, financial_year, financial_quarter
-- materialized: view
-- description: national measures per NHS region and financial quarter, summed over the region's organisations (see dim_site
-- for membership); suppressed jointly with the site figures
-- column region: NHS region (as in dim_site; Unknown groups organisations with no known region)
-- column measure_code: the measure (see dim_measure)
-- column financial_year: NHS financial year, as 2024/25
-- column financial_quarter: quarter of the financial year: 1 = April to June ... 4 = January to March
-- column financial_quarter_label: e.g. 2024/25 Q1
-- column quarter_start: first day of the financial quarter
-- column months: number of months with data in the quarter
-- column sites: number of organisations with data in the group and period
-- column numerator: the measure's numerator summed over the region's organisations and the quarter's months; null when suppressed
-- column denominator: the measure's denominator summed over the region's organisations and the quarter's months (null for counts); null when suppressed
-- column value: numerator x multiplier / denominator (the numerator for counts); null when suppressed or the
-- denominator is 0
-- column suppressed: true when the figures are withheld
-- column suppression_reason: null when published; small_count, complementary or shared_count when withheld
{% set grouping = 'region' %}
{% set period_type = 'quarter' %}
{% include "macros/national_rollup.sql" %}
