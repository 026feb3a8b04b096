{# Shared by the national and local dim_measure models: one row per measure from its SQL header. #}
{% for m in measures %}
select
    '{{ m.code }}' as measure_code,
    '{{ m.name | replace("'", "''") }}' as measure_name,
    '{{ m.unit }}' as unit,
    '{{ m.direction }}' as improvement_direction,
    {{ m.multiplier }} as multiplier,
    '{{ m.numerator | replace("'", "''") }}' as numerator_definition,
    '{{ m.denominator | replace("'", "''") }}' as denominator_definition,
    '{{ m.scope }}' as scope
{% if not loop.last %} union all {% endif %}
{% endfor %}
