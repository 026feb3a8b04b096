-- measure: ae_4h_performance
-- name: A&E 4-hour performance
-- unit: proportion
-- direction: higher
-- multiplier: 1
-- family: binomial
-- numerator: attendances minus attendances over 4 hours, all department types
-- denominator: attendances, all department types
-- period: month
-- breakdowns: none
-- description: share of A&E attendances admitted, transferred or discharged within 4 hours (a monthly
-- publication, so there is no weekly, ward or specialty detail)
select
    org_code as site_code,
    period as month,
    sum(attendances) - sum(breaches_4h) as numerator,
    sum(attendances) as denominator
from {{ ref('stg_ae_monthly') }}
group by org_code, period
