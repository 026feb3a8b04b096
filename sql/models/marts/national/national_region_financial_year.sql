-- grain: region x measure x financial year
-- key: region, measure_code, financial_year
-- materialized: view
-- description: national measures per NHS region and financial year, summed over the region's organisations
-- column region: NHS region (as in dim_site; Unknown groups organisations with no known region)
-- column measure_code: the measure (see dim_measure)
-- column financial_year: NHS financial year, as 2024/25
-- column financial_year_start: first day of the financial year (1 April)
-- column months: number of months with data in the financial year
-- column sites: number of organisations with data in the group and period
-- column numerator: the measure's numerator summed over the region's organisations and the year's months; null when suppressed
-- column denominator: the measure's denominator summed over the region's organisations and the year's months (null for counts); null when suppressed
-- column value: numerator x multiplier / denominator (the numerator for counts); null when suppressed or the
-- denominator is 0
-- column suppressed: true when the figures are withheld
-- column suppression_reason: null when published; small_count, complementary or shared_count when withheld
{% set grouping = 'region' %}
{% set period_type = 'year' %}
{% include "macros/national_rollup.sql" %}
