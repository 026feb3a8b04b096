-- grain: site x measure x month
-- key: site_code, measure_code, month
-- description: national core measures per site and month; counts from 1 to the suppression threshold are withheld (value null, suppressed true)
with flagged as (
    select
        site_code,
        measure_code,
        month,
        numerator,
        denominator,
        value,
        coalesce(numerator between 1 and {{ suppression_threshold }}, false)
            or coalesce(denominator between 1 and {{ suppression_threshold }}, false) as suppressed
    from measures.measure_monthly
)
select
    site_code,
    measure_code,
    month,
    case when suppressed then null else numerator end as numerator,
    case when suppressed then null else denominator end as denominator,
    case when suppressed then null else value end as value,
    suppressed
from flagged
