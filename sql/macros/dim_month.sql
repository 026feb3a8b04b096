{# Shared by the national and local dim_month models: calendar months the facts cover.
   `where` (a predicate on measure_monthly) restricts the measure rows that set the range. #}
{% macro dim_month(where) %}
select
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
where c.month between (select min(month) from {{ ref('measure_monthly') }} where {{ where }})
                  and (select max(month) from {{ ref('measure_monthly') }} where {{ where }})
{% endmacro %}
