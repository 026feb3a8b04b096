-- grain: measure x month (this site)
-- key: measure_code, month
-- description: this site's measures per month, the national core measures and the site's local measures,
-- unsuppressed (local marts are read only by the site itself)
-- column site_code: ODS code of this site
-- column measure_code: the measure (see dim_measure)
-- column month: calendar month (first day; see dim_month)
-- column numerator: the measure's numerator in the month
-- column denominator: the measure's denominator in the month (null for counts)
-- column value: numerator x multiplier / denominator (the numerator for counts); null when the denominator is 0
select
    site_code,
    measure_code,
    month,
    numerator,
    denominator,
    value
from measures.measure_monthly
where site_code = '{{ site.ods_code }}'
