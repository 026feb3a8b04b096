{# Every trust's measures rolled up from the finest grain to a period (month or week: ISO weeks starting Monday)
   and an optional breakdown (ward or specialty). `measures` are the national measures and every trust's local
   ones (a local measure's rows in measure_detail are its own trust's only). Only measures that have that detail
   take part: weekly figures need a daily source, ward and specialty figures a measure with that breakdown. Never
   suppressed: a trust reads only its own rows, through its local_<ods> views. #}
{% macro local_rollup(measures, period, breakdown=none) %}
{% set ms = [] %}
{% for m in measures %}
{% if (period == 'month' or m.period == 'day') and (not breakdown or breakdown in m.breakdowns) %}
{% do ms.append(m) %}
{% endif %}
{% endfor %}
{% set period_col = 'month' if period == 'month' else 'week_start' %}
select
    site_code,
    measure_code,
{% if breakdown %}
    {{ breakdown }}_code,
{% endif %}
    {{ period_col }},
    numerator,
    denominator,
    {{ measure_value(ms, 'numerator', 'denominator') if ms else 'cast(null as double precision)' }} as value
from (
    select
        site_code,
        measure_code,
{% if breakdown %}
        {{ breakdown }}_code,
{% endif %}
        cast(date_trunc('{{ period }}', cast(day as timestamp)) as date) as {{ period_col }},
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from {{ ref('measure_detail') }}
    where {{ trust_filter() }}
{% if ms %}
      and measure_code in ({% for m in ms %}'{{ m.code }}'{{ ', ' if not loop.last }}{% endfor %})
{% else %}
      and 1 = 0
{% endif %}
    group by site_code, measure_code,{{ ' ' ~ breakdown ~ '_code,' if breakdown else '' }} cast(date_trunc('{{ period }}', cast(day as timestamp)) as date)
) rolled
{% endmacro %}
