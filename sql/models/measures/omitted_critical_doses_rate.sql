-- measure: omitted_critical_doses_rate
-- name: Omitted critical medicine doses
-- unit: proportion
-- direction: lower
-- multiplier: 1
-- family: binomial
-- numerator: critical medicine doses omitted
-- denominator: critical medicine doses due (status other than not_required)
-- period: day
-- breakdowns: ward
-- description: share of due critical medicine doses that were omitted
select
    site_code,
    ward_code,
    cast(scheduled_at as date) as day,
    sum(case when status = 'omitted' then 1 else 0 end) as numerator,
    count(*) as denominator
from {{ ref('stg_medication_administrations') }}
where critical_medicine and status <> 'not_required'
group by site_code, ward_code, cast(scheduled_at as date)
