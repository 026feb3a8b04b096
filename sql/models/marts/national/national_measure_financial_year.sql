-- grain: site x measure x financial year
-- key: site_code, measure_code, financial_year
-- materialized: view
-- description: each organisation's national measures per NHS financial year (April to March), suppressed jointly with the
-- monthly and quarterly figures
-- column site_code: ODS code of the organisation (see dim_site)
-- column measure_code: the measure (see dim_measure)
-- column financial_year: NHS financial year, as 2024/25
-- column financial_year_start: first day of the financial year (1 April)
-- column months: number of months with data in the financial year
-- column numerator: the measure's numerator summed over the months of the financial year; null when suppressed
-- column denominator: the measure's denominator summed over the months of the financial year (null for counts); null when suppressed
-- column value: numerator x multiplier / denominator (the numerator for counts); null when suppressed or the
-- denominator is 0
-- column suppressed: true when the figures are withheld
-- column suppression_reason: null when published; small_count, complementary or shared_count when withheld
{% set grouping = 'site' %}
{% set period_type = 'year' %}
{% include "macros/national_rollup.sql" %}
