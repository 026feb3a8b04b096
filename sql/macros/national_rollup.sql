{# The national figures at one grouping (site, region, trust_type) and period (month, quarter, year), from the
   disclosure-controlled long table (written by the suppression step, pipeline.marts.build): withheld figures are
   published as null. #}
{% macro national_rollup(grouping, period_type) %}
select
    group_code as {{ 'site_code' if grouping == 'site' else grouping }},
    measure_code,
{% if period_type == 'month' %}
    period_start as month,
{% elif period_type == 'quarter' %}
    financial_year,
    financial_quarter,
    financial_year || ' Q' || cast(financial_quarter as varchar) as financial_quarter_label,
    period_start as quarter_start,
    months,
{% else %}
    financial_year,
    period_start as financial_year_start,
    months,
{% endif %}
{% if grouping != 'site' %}
    sites,
{% endif %}
    case when suppressed then null else numerator end as numerator,
    case when suppressed then null else denominator end as denominator,
    case when suppressed then null else value end as value,
    suppressed,
    suppression_reason
from {{ source('suppression', 'disclosure_control') }}
where group_type = '{{ grouping }}' and period_type = '{{ period_type }}'
{% endmacro %}
