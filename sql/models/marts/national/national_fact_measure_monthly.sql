-- grain: site x measure x month
-- key: site_code, measure_code, month
-- description: national core measures per organisation and month. Disclosure-safe: a count from 1 to the
-- suppression threshold (7 by default) is withheld (numerator, denominator and value null, suppressed true), and
-- further cells are withheld so that no withheld count can be recovered by subtraction from any published figure
-- (quarterly and yearly rollups, region and trust-type totals); suppression_reason says why
-- column site_code: ODS code of the organisation (see dim_site)
-- column measure_code: the measure (see dim_measure)
-- column month: calendar month (first day; see dim_month)
-- column numerator: the measure's numerator in the month; null when suppressed
-- column denominator: the measure's denominator in the month (null for counts); null when suppressed
-- column value: numerator x multiplier / denominator (the numerator for counts); null when suppressed or the
-- denominator is 0
-- column suppressed: true when the figures are withheld
-- column suppression_reason: null when published; small_count, complementary or shared_count when withheld (see
-- the data dictionary)
{% set grouping = 'site' %}
{% set period_type = 'month' %}
{% include "macros/national_rollup.sql" %}
