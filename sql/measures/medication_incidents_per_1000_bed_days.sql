-- measure: medication_incidents_per_1000_bed_days
-- name: Medication incidents per 1,000 occupied bed days
-- unit: per 1,000 bed days
-- direction: lower
-- multiplier: 1000
-- family: poisson
-- numerator: reported medication incidents that occurred in the month
-- denominator: occupied bed days
-- grain: site_code x month
-- key: site_code, month
-- description: medication incidents x 1000 / occupied bed days
with incidents as (
    select site_code, cast(date_trunc('month', occurred_at) as date) as month, count(*) as n
    from staging.stg_patient_safety_incidents
    where category = 'medication'
    group by site_code, cast(date_trunc('month', occurred_at) as date)
)
select
    b.site_code,
    b.month,
    coalesce(i.n, 0) as numerator,
    b.numerator as denominator
from measures.bed_days b
left join incidents i on i.site_code = b.site_code and i.month = b.month
where b.site_code in (select distinct site_code from staging.stg_patient_safety_incidents)
