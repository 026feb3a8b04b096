{# dbt only (the runner derives the same from the folder). The schema is the folder's `+schema` as is, not
   <target schema>_<schema>: staging, measures, national; local marts go to local_<ods> for the site given as
   var('site'); a site's local measures (sql/local/<ods>/) to measures. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
{%- if node.original_file_path.startswith('local/') -%}
measures
{%- elif custom_schema_name == 'local' -%}
local_{{ (var('site').ods_code or 'unset') | lower }}
{%- elif custom_schema_name -%}
{{ custom_schema_name | trim }}
{%- else -%}
{{ target.schema }}
{%- endif -%}
{%- endmacro %}
