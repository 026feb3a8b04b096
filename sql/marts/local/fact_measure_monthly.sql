-- grain: measure x month (this site)
-- key: measure_code, month
-- description: this site's measures per month, unsuppressed (local marts are read only by the site itself)
select
    site_code,
    measure_code,
    month,
    numerator,
    denominator,
    value
from measures.measure_monthly
where site_code = '{{ site.ods_code }}'
