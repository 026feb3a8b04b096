{% for m in var('measures') + var('local_measures') %}
select
    site_code,
    '{{ m.code }}' as measure_code,
    '{{ m.scope }}' as scope,
    {{ 'cast(ward_code as varchar)' if 'ward' in m.breakdowns else 'cast(null as varchar)' }} as ward_code,
    {{ 'cast(specialty_code as varchar)' if 'specialty' in m.breakdowns else 'cast(null as varchar)' }} as specialty_code,
    cast({{ 'month' if m.period == 'month' else 'day' }} as date) as day,
    cast(numerator as double precision) as numerator,
    {{ 'cast(denominator as double precision)' if m.has_denominator else 'cast(null as double precision)' }} as denominator
from {{ ref(m.code) }}
{% if m.scope == 'local' %}
where site_code = '{{ m.site }}'
{% endif %}
{% if not loop.last %}
union all
{% endif %}
{% endfor %}
