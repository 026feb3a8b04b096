{# Shared by the national and local dim_measure models: one row per measure of `measures` (from its SQL header).
   `trusts` (the local model: a relation with site_code, trust_sites()) adds site_code first: a national measure
   once for every trust, a trust's local measure for that trust alone. #}
{% macro dim_measure(measures, trusts=none) %}
{% for m in measures %}
select
{% if trusts is not none %}
    {{ "cast('" ~ m.site ~ "' as varchar)" if m.site else 'trust.site_code' }} as site_code,
{% endif %}
    '{{ m.code }}' as measure_code,
    '{{ m.name | replace("'", "''") }}' as measure_name,
    '{{ m.unit | replace("'", "''") }}' as unit,
    '{{ m.direction }}' as improvement_direction,
    cast({{ m.multiplier }} as double precision) as multiplier,
    '{{ m.family }}' as family,
    '{{ m.numerator | replace("'", "''") }}' as numerator_definition,
    '{{ m.denominator | replace("'", "''") }}' as denominator_definition,
    '{{ m.description | replace("'", "''") }}' as description,
    '{{ m.period }}' as finest_period,
    '{{ m.breakdowns | join(", ") if m.breakdowns else "none" }}' as breakdowns,
    {{ m.warm_up_months }} as warm_up_months,
    {{ m.mature_after_days }} as mature_after_days,
    '{{ m.scope }}' as scope
{% if trusts is not none and not m.site %}
from {{ trusts }} trust
{% endif %}
{% if not loop.last %}
union all
{% endif %}
{% endfor %}
{% endmacro %}
