{# The one formula for a measure's value from its (summed) numerator and denominator:
   numerator x multiplier / denominator, or the numerator itself for a count with no denominator.
   `measures` is the list of measure contexts the rows may belong to; `num` and `den` are the column expressions. #}
{% macro measure_value(measures, num, den) -%}
case
{% for m in measures %}
    when measure_code = '{{ m.code }}' then {% if m.has_denominator %}case when {{ den }} > 0 then {{ num }} * {{ m.multiplier }} / {{ den }} end{% else %}{{ num }}{% endif %}

{% endfor %}
end
{%- endmacro %}
