{# Incidents of one category per occupied bed day, at site x ward x day: the numerator and the bed days
   beside it, with days that have beds and no incident (and incidents on a ward with no bed day) kept.
   Without `site`, every site that sends incident data; with it, that site only (a local measure). #}
{% macro incidents_per_bed_days(category, site=none) %}
with incidents as (
    select site_code, ward_code, cast(occurred_at as date) as day, count(*) as n
    from {{ ref('stg_patient_safety_incidents') }}
    where {% if site %}site_code = '{{ site }}' and {% endif %}category = '{{ category }}'
    group by site_code, ward_code, cast(occurred_at as date)
),
beds as (
    select site_code, ward_code, day, sum(numerator) as bed_days
    from {{ ref('bed_days') }}
{% if site %}
    where site_code = '{{ site }}'
{% else %}
    where site_code in (select distinct site_code from {{ ref('stg_patient_safety_incidents') }})
{% endif %}
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
{% endmacro %}
