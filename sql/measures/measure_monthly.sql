-- grain: site_code x measure_code x month
-- key: site_code, measure_code, month
-- description: every national core measure in one long table, with its value (numerator x multiplier / denominator)
{% for m in measures %}
select
    site_code,
    '{{ m.code }}' as measure_code,
    month,
    cast(numerator as double precision) as numerator,
    cast(denominator as double precision) as denominator,
{% if m.has_denominator %}
    case when denominator > 0 then cast(numerator as double precision) * {{ m.multiplier }} / denominator end as value
{% else %}
    cast(numerator as double precision) as value
{% endif %}
from measures.{{ m.code }}
{% if not loop.last %} union all {% endif %}
{% endfor %}
