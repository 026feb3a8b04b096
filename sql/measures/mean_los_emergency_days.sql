-- measure: mean_los_emergency_days
-- name: Mean length of stay, emergency admissions
-- unit: days
-- direction: lower
-- multiplier: 1
-- family: mean
-- numerator: total length of stay (discharge date minus admission date, days) of emergency spells discharged in the month
-- denominator: emergency spells discharged in the month
-- grain: site_code x month
-- key: site_code, month
-- description: mean length of stay of emergency spells, by month of discharge
select
    site_code,
    cast(date_trunc('month', discharged_at) as date) as month,
    sum(cast(discharged_at as date) - cast(admitted_at as date)) as numerator,
    count(*) as denominator
from staging.stg_inpatient_spells
where admission_method = 'emergency' and discharged_at is not null
group by site_code, cast(date_trunc('month', discharged_at) as date)
