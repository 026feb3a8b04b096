-- grain: measure x specialty x ISO week (this site)
-- key: measure_code, specialty_code, week_start
-- description: this site's measures per NHS main specialty and ISO week, unsuppressed, for daily measures with a
-- specialty breakdown
-- column site_code: ODS code of this site
-- column measure_code: the measure (see dim_measure)
-- column specialty_code: NHS main specialty code (see dim_specialty)
-- column week_start: Monday the ISO week starts on (see dim_week)
-- column numerator: the measure's numerator summed over the specialty's rows in the week
-- column denominator: the measure's denominator summed over the specialty's rows in the week (null for counts)
-- column value: numerator x multiplier / denominator (the numerator for counts); null when the denominator is 0
{% set period = 'week' %}
{% set breakdown = 'specialty' %}
{% include "macros/local_rollup.sql" %}
