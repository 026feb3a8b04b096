select
    site_code,
    measure_code,
    month,
    numerator,
    denominator,
    value
from {{ ref('measure_monthly') }}
where {{ trust_filter() }}
