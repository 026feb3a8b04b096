-- measure: emergency_readmission_30d_rate
-- name: Emergency readmissions within 30 days
-- unit: proportion
-- direction: lower
-- multiplier: 1
-- family: binomial
-- warm_up_months: 2
-- mature_after_days: 30
-- numerator: live discharges followed by an emergency admission of the same patient within 30 days
-- denominator: live discharges
-- period: day
-- breakdowns: ward, specialty
-- description: share of live discharges with an emergency readmission to the same trust within 30 days
-- (ward and specialty are those of the spell the patient was discharged from)
with discharges as (
    select site_code, spell_id, patient_ref, ward_code, main_specialty_code, discharged_at
    from {{ ref('stg_inpatient_spells') }}
    where discharged_at is not null and coalesce(discharge_destination, 'other') <> 'died'
),
emergency as (
    select site_code, patient_ref, admitted_at
    from {{ ref('stg_inpatient_spells') }}
    where admission_method = 'emergency'
),
flagged as (
    select
        d.site_code,
        d.spell_id,
        d.ward_code,
        d.main_specialty_code as specialty_code,
        cast(d.discharged_at as date) as day,
        max(case when e.patient_ref is not null then 1 else 0 end) as readmitted
    from discharges d
    -- All-cause, as NHS England's indicator (NHS OF 3b): any emergency admission of the same patient
    -- counts, whatever came between, so one after a spell the pipeline quarantined still readmits
    -- this discharge; max() counts a discharge once however many follow. The window is 30 x 24 hours
    -- after the discharge (local wall-clock timestamps, so no DST hour), which the simulator's truth
    -- uses too (pipeline/simulator/spells.py).
    left join emergency e
        on e.site_code = d.site_code
        and e.patient_ref = d.patient_ref
        and e.admitted_at > d.discharged_at
        and e.admitted_at <= d.discharged_at + interval '30 days'
    group by d.site_code, d.spell_id, d.ward_code, d.main_specialty_code, cast(d.discharged_at as date)
)
select site_code, ward_code, specialty_code, day, sum(readmitted) as numerator, count(*) as denominator
from flagged
group by site_code, ward_code, specialty_code, day
