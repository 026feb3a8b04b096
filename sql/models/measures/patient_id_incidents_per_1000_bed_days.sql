-- measure: patient_id_incidents_per_1000_bed_days
-- name: Patient identification incidents per 1,000 occupied bed days
-- unit: per 1,000 bed days
-- direction: lower
-- multiplier: 1000
-- family: poisson
-- warm_up_months: 2
-- numerator: reported patient identification incidents, on the day they occurred
-- denominator: occupied bed days (the bed_days measure)
-- denominator_measure: bed_days
-- period: day
-- breakdowns: ward
-- description: patient identification incidents x 1000 / occupied bed days, for sites that send incident data
with incidents as (
    select site_code, ward_code, cast(occurred_at as date) as day, count(*) as n
    from {{ ref('stg_patient_safety_incidents') }}
    where category = 'patient_identification'
    group by site_code, ward_code, cast(occurred_at as date)
),
beds as (
    select site_code, ward_code, day, sum(numerator) as bed_days
    from {{ ref('bed_days') }}
    where site_code in (select distinct site_code from {{ ref('stg_patient_safety_incidents') }})
    group by site_code, ward_code, day
)
select
    coalesce(b.site_code, i.site_code) as site_code,
    coalesce(b.ward_code, i.ward_code) as ward_code,
    coalesce(b.day, i.day) as day,
    coalesce(i.n, 0) as numerator,
    coalesce(b.bed_days, 0) as denominator
from beds b
full outer join incidents i on i.site_code = b.site_code and i.ward_code = b.ward_code and i.day = b.day
