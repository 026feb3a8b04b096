-- measure: bed_days
-- name: Occupied bed days
-- unit: bed days
-- direction: neutral
-- multiplier: 1
-- family: poisson
-- warm_up_months: 2
-- moved_by: mean_los_emergency_days
-- numerator: occupied bed days, counted as midnights spent in hospital
-- denominator: none
-- period: day
-- breakdowns: ward, specialty
-- description: midnights in hospital, each counted on the day that ends at it; a spell still open counts
-- up to the end of the site's latest admission month
with horizon as (
    select site_code, max(cast(date_trunc('month', admitted_at) as date)) as last_month
    from {{ ref('stg_inpatient_spells') }}
    group by site_code
),
stays as (
    select
        s.site_code,
        s.ward_code,
        s.main_specialty_code as specialty_code,
        cast(s.admitted_at as date) as admitted_on,
        least(coalesce(cast(s.discharged_at as date), c.next_month), c.next_month) as left_on
    from {{ ref('stg_inpatient_spells') }} s
    join horizon h on h.site_code = s.site_code
    join {{ ref('calendar_month') }} c on c.month = h.last_month
)
select
    s.site_code,
    s.ward_code,
    s.specialty_code,
    cast(g.d as date) as day,
    count(*) as numerator
from stays s,
    generate_series(cast(s.admitted_on as timestamp), cast(s.left_on as timestamp) - interval '1 day', interval '1 day') as g(d)
where s.left_on > s.admitted_on
group by s.site_code, s.ward_code, s.specialty_code, cast(g.d as date)
