-- grain: measure x ISO week (this site)
-- key: measure_code, week_start
-- description: this site's measures per ISO week (Monday to Sunday), unsuppressed; measures from monthly sources have no
-- weekly figures
-- column site_code: ODS code of this site
-- column measure_code: the measure (see dim_measure)
-- column week_start: Monday the ISO week starts on (see dim_week)
-- column numerator: the measure's numerator summed over the week
-- column denominator: the measure's denominator summed over the week (null for counts)
-- column value: numerator x multiplier / denominator (the numerator for counts); null when the denominator is 0
{% set period = 'week' %}
{% set breakdown = '' %}
{% include "macros/local_rollup.sql" %}
