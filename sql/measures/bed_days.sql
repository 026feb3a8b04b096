-- measure: bed_days
-- name: Occupied bed days
-- unit: bed days
-- direction: neutral
-- multiplier: 1
-- family: poisson
-- numerator: occupied bed days, counted as midnights spent in hospital in the month
-- denominator: none
-- grain: site_code x month
-- key: site_code, month
-- description: midnights in hospital; a spell still open counts up to the end of the site's latest admission month
with horizon as (
    select site_code, max(cast(date_trunc('month', admitted_at) as date)) as last_month
    from staging.stg_inpatient_spells
    group by site_code
),
stays as (
    select
        s.site_code,
        cast(s.admitted_at as date) as admitted_on,
        coalesce(cast(s.discharged_at as date), c.next_month) as left_on
    from staging.stg_inpatient_spells s
    join horizon h on h.site_code = s.site_code
    join measures.calendar_month c on c.month = h.last_month
),
months as (
    select c.month, c.next_month
    from measures.calendar_month c
    where c.month >= (select min(cast(date_trunc('month', admitted_at) as date)) from staging.stg_inpatient_spells)
      and c.month <= (select max(last_month) from horizon)
)
select
    s.site_code,
    m.month,
    sum(least(s.left_on, m.next_month) - greatest(s.admitted_on, m.month)) as numerator,
    cast(null as bigint) as denominator
from stays s
join months m on m.month < s.left_on and m.next_month > s.admitted_on
group by s.site_code, m.month
