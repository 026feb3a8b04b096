-- grain: ward
-- key: ward_code
-- description: the wards that appear in this site's ward-level facts, with the months they have data for
-- column ward_code: the site's ward code (after the site's code mappings)
-- column first_month: first month with data for the ward
-- column last_month: last month with data for the ward
-- column measures: number of measures with data for the ward
select
    ward_code,
    cast(date_trunc('month', cast(min(day) as timestamp)) as date) as first_month,
    cast(date_trunc('month', cast(max(day) as timestamp)) as date) as last_month,
    count(distinct measure_code) as measures
from measures.measure_detail
where site_code = '{{ site.ods_code }}' and ward_code is not null
group by ward_code
