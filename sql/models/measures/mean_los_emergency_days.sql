-- measure: mean_los_emergency_days
-- name: Mean length of stay, emergency admissions
-- unit: days
-- direction: lower
-- multiplier: 1
-- family: mean
-- warm_up_months: 2
-- numerator: total length of stay (discharge date minus admission date, days) of emergency spells discharged
-- denominator: emergency spells discharged
-- period: day
-- breakdowns: ward, specialty
-- description: mean length of stay of emergency spells, by day of discharge
select
    site_code,
    ward_code,
    main_specialty_code as specialty_code,
    cast(discharged_at as date) as day,
    sum(cast(discharged_at as date) - cast(admitted_at as date)) as numerator,
    count(*) as denominator
from {{ ref('stg_inpatient_spells') }}
where admission_method = 'emergency' and discharged_at is not null
group by site_code, ward_code, main_specialty_code, cast(discharged_at as date)
