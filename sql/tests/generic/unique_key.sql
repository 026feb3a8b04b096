{# A model's key (YAML `meta.key`): no two rows share the same values of `columns` (nulls compare equal,
   as in GROUP BY). #}
{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_with_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
