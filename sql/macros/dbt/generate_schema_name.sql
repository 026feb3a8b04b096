{# dbt only (the runner derives the same from the folder). The schema is the folder's `+schema` as is, not
   <target schema>_<schema>: staging, measures, national; the local marts' all-sites tables and a site's local
   measures (sql/local/<ods>/) to measures. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
{%- if node.original_file_path.startswith('local/') -%}
measures
{%- elif custom_schema_name -%}
{{ custom_schema_name | trim }}
{%- else -%}
{{ target.schema }}
{%- endif -%}
{%- endmacro %}
