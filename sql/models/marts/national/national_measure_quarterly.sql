-- grain: site x measure x financial quarter
-- key: site_code, measure_code, financial_year, financial_quarter
-- materialized: view
-- description: each organisation's national measures per NHS financial quarter (sums of the monthly numerators and denominators,
-- suppressed like the monthly facts and jointly with them)
-- column site_code: ODS code of the organisation (see dim_site)
-- column measure_code: the measure (see dim_measure)
-- column financial_year: NHS financial year, as 2024/25
-- column financial_quarter: quarter of the financial year: 1 = April to June ... 4 = January to March
-- column financial_quarter_label: e.g. 2024/25 Q1
-- column quarter_start: first day of the financial quarter
-- column months: number of months with data in the quarter
-- column numerator: the measure's numerator summed over the months of the quarter; null when suppressed
-- column denominator: the measure's denominator summed over the months of the quarter (null for counts); null when suppressed
-- column value: numerator x multiplier / denominator (the numerator for counts); null when suppressed or the
-- denominator is 0
-- column suppressed: true when the figures are withheld
-- column suppression_reason: null when published; small_count, complementary or shared_count when withheld
{% set grouping = 'site' %}
{% set period_type = 'quarter' %}
{% include "macros/national_rollup.sql" %}
