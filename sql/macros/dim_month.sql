{# Shared by the national and local dim_month models: calendar months the facts cover.
   `where` (a predicate on measure_monthly) restricts the measure rows that set the range; `by_site` (the local
   model, every trust at once) gives each site_code the months between its own first and last. #}
{% macro dim_month(where, by_site=false) %}
select
{% if by_site %}
    s.site_code,
{% endif %}
    c.month,
    c.calendar_year,
    c.month_of_year,
    c.financial_year,
    c.financial_quarter,
    c.financial_year || ' Q' || cast(c.financial_quarter as varchar) as financial_quarter_label,
    c.quarter_start,
    c.financial_year_start,
    c.month_label
from {{ ref('calendar_month') }} c
{% if by_site %}
join (
    select site_code, min(month) as first_month, max(month) as last_month
    from {{ ref('measure_monthly') }}
    where {{ where }}
    group by site_code
) s on c.month between s.first_month and s.last_month
{% else %}
where c.month between (select min(month) from {{ ref('measure_monthly') }} where {{ where }})
                  and (select max(month) from {{ ref('measure_monthly') }} where {{ where }})
{% endif %}
{% endmacro %}
