select
    site_code,
    measure_code,
    scope,
    month,
    numerator,
    denominator,
    {{ measure_value(var('measures') + var('local_measures'), 'numerator', 'denominator') }} as value
from (
    select
        site_code,
        measure_code,
        scope,
        cast(date_trunc('month', cast(day as timestamp)) as date) as month,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from {{ ref('measure_detail') }}
    group by site_code, measure_code, scope, cast(date_trunc('month', cast(day as timestamp)) as date)
) monthly
