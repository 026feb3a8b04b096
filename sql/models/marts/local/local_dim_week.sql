with span as (
    select
        site_code,
        cast(date_trunc('week', cast(min(day) as timestamp)) as date) as first_week,
        cast(date_trunc('week', cast(max(day) as timestamp)) as date) as last_week
    from {{ ref('measure_detail') }}
    where {{ trust_filter() }}
    group by site_code
),
weeks as (
    select s.site_code, cast(g.d as date) as week_start
    from span s,
        generate_series(cast(s.first_week as timestamp), cast(s.last_week as timestamp), interval '7 days') as g(d)
    where s.first_week is not null
),
numbered as (
    select
        site_code,
        week_start,
        cast(extract(isoyear from week_start) as integer) as iso_year,
        cast(extract(week from week_start) as integer) as iso_week,
        cast(date_trunc('month', cast(week_start as timestamp)) as date) as month
    from weeks
)
select
    n.site_code,
    n.week_start,
    cast(n.week_start + 6 as date) as week_end,
    n.iso_year,
    n.iso_week,
    cast(n.iso_year as varchar) || '-W' || lpad(cast(n.iso_week as varchar), 2, '0') as week_label,
    n.month,
    c.financial_year
from numbered n
join {{ ref('calendar_month') }} c on c.month = n.month
