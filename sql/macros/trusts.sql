{# The trusts whose local marts this build makes (var `trusts`, their ODS codes). Every local mart model is
   built once over all of them, with site_code, and each trust reads its rows through the views in
   local_<ods> (pipeline/warehouse/site_views.py). #}
{% macro trust_filter(column='site_code') -%}
{% set codes = var('trusts') %}
{% if codes %}
{{ column }} in ({% for c in codes %}'{{ c }}'{{ ', ' if not loop.last }}{% endfor %})
{%- else %}
1 = 0
{%- endif %}
{%- endmacro %}

{# The trusts as a relation with one column, site_code (none: no rows). #}
{% macro trust_sites() -%}
{% set codes = var('trusts') %}
{% if codes %}
(select cast(site_code as varchar) as site_code
 from (values {% for c in codes %}('{{ c }}'){{ ', ' if not loop.last }}{% endfor %}) as listed(site_code))
{%- else %}
(select cast(null as varchar) as site_code where 1 = 0)
{%- endif %}
{%- endmacro %}
