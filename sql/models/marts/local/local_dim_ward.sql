select
    site_code,
    ward_code,
    cast(date_trunc('month', cast(min(day) as timestamp)) as date) as first_month,
    cast(date_trunc('month', cast(max(day) as timestamp)) as date) as last_month,
    count(distinct measure_code) as measures
from {{ ref('measure_detail') }}
where {{ trust_filter() }} and ward_code is not null
group by site_code, ward_code
