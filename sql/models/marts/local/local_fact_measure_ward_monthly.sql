-- grain: measure x ward x month (this site)
-- key: measure_code, ward_code, month
-- description: this site's measures per ward and month, unsuppressed, for measures with a ward breakdown (see
-- dim_measure.breakdowns)
-- column site_code: ODS code of this site
-- column measure_code: the measure (see dim_measure)
-- column ward_code: the site's ward code (see dim_ward)
-- column month: calendar month (first day; see dim_month)
-- column numerator: the measure's numerator summed over the ward's rows in the month
-- column denominator: the measure's denominator summed over the ward's rows in the month (null for counts)
-- column value: numerator x multiplier / denominator (the numerator for counts); null when the denominator is 0
{% set period = 'month' %}
{% set breakdown = 'ward' %}
{% include "macros/local_rollup.sql" %}
