-- grain: measure x ward x ISO week (this site)
-- key: measure_code, ward_code, week_start
-- description: this site's measures per ward and ISO week, unsuppressed, for daily measures with a ward breakdown
-- column site_code: ODS code of this site
-- column measure_code: the measure (see dim_measure)
-- column ward_code: the site's ward code (see dim_ward)
-- column week_start: Monday the ISO week starts on (see dim_week)
-- column numerator: the measure's numerator summed over the ward's rows in the week
-- column denominator: the measure's denominator summed over the ward's rows in the week (null for counts)
-- column value: numerator x multiplier / denominator (the numerator for counts); null when the denominator is 0
{% set period = 'week' %}
{% set breakdown = 'ward' %}
{% include "macros/local_rollup.sql" %}
