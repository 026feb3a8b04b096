-- measure: inpatient_falls_per_1000_bed_days
-- name: Inpatient falls per 1,000 occupied bed days
-- unit: per 1,000 bed days
-- direction: lower
-- multiplier: 1000
-- family: poisson
-- numerator: reported falls, on the day they occurred
-- denominator: occupied bed days (the national bed_days measure)
-- period: day
-- breakdowns: ward
-- grain: site_code x ward_code x day
-- key: site_code, ward_code, day
-- description: RF4's own falls measure, tracked by its falls-prevention work; an example of a local measure
with falls as (
    select site_code, ward_code, cast(occurred_at as date) as day, count(*) as n
    from {{ ref('stg_patient_safety_incidents') }}
    where site_code = 'RF4' and category = 'fall'
    group by site_code, ward_code, cast(occurred_at as date)
),
beds as (
    select site_code, ward_code, day, sum(numerator) as bed_days
    from {{ ref('bed_days') }}
    where site_code = 'RF4'
    group by site_code, ward_code, day
)
select
    coalesce(b.site_code, f.site_code) as site_code,
    coalesce(b.ward_code, f.ward_code) as ward_code,
    coalesce(b.day, f.day) as day,
    coalesce(f.n, 0) as numerator,
    coalesce(b.bed_days, 0) as denominator
from beds b
full outer join falls f on f.site_code = b.site_code and f.ward_code = b.ward_code and f.day = b.day
