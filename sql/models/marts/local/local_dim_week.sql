-- grain: ISO week
-- key: week_start
-- description: the ISO weeks (Monday to Sunday) covered by this site's weekly facts
-- column week_start: Monday the week starts on
-- column week_end: Sunday the week ends on
-- column iso_year: ISO 8601 week-numbering year
-- column iso_week: ISO 8601 week number, 1 to 53
-- column week_label: e.g. 2024-W07
-- column month: calendar month the week starts in (first day)
-- column financial_year: NHS financial year the week starts in, as 2024/25
with span as (
    select
        cast(date_trunc('week', cast(min(day) as timestamp)) as date) as first_week,
        cast(date_trunc('week', cast(max(day) as timestamp)) as date) as last_week
    from measures.measure_detail
    where site_code = '{{ site.ods_code }}'
),
weeks as (
    select cast(g.d as date) as week_start
    from span s,
        generate_series(cast(s.first_week as timestamp), cast(s.last_week as timestamp), interval '7 days') as g(d)
    where s.first_week is not null
),
numbered as (
    select
        week_start,
        cast(extract(isoyear from week_start) as integer) as iso_year,
        cast(extract(week from week_start) as integer) as iso_week,
        cast(date_trunc('month', cast(week_start as timestamp)) as date) as month
    from weeks
)
select
    n.week_start,
    cast(n.week_start + 6 as date) as week_end,
    n.iso_year,
    n.iso_week,
    cast(n.iso_year as varchar) || '-W' || lpad(cast(n.iso_week as varchar), 2, '0') as week_label,
    n.month,
    c.financial_year
from numbered n
join measures.calendar_month c on c.month = n.month
