-- grain: measure x specialty x month (this site)
-- key: measure_code, specialty_code, month
-- description: this site's measures per NHS main specialty and month, unsuppressed, for measures with a specialty
-- breakdown (see dim_measure.breakdowns)
-- column site_code: ODS code of this site
-- column measure_code: the measure (see dim_measure)
-- column specialty_code: NHS main specialty code (see dim_specialty)
-- column month: calendar month (first day; see dim_month)
-- column numerator: the measure's numerator summed over the specialty's rows in the month
-- column denominator: the measure's denominator summed over the specialty's rows in the month (null for counts)
-- column value: numerator x multiplier / denominator (the numerator for counts); null when the denominator is 0
{% set period = 'month' %}
{% set breakdown = 'specialty' %}
{% include "macros/local_rollup.sql" %}
