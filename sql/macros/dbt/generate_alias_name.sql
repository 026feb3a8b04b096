{# dbt only (the runner does the same in pipeline.warehouse.models.load_model). Mart models are named
   national_<table> / local_<table> because dbt model names are global; the table drops the prefix. A local mart
   model is one table over every trust, measures.<table>_all (the trusts read their views local_<ods>.<table>).
   A site's local measure sql/local/<ods>/<code>.sql is the table measures.local_<ods>_<code>. #}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
{%- set path = node.original_file_path -%}
{%- if custom_alias_name -%}
{{ custom_alias_name | trim }}
{%- elif path.startswith('local/') -%}
local_{{ path.split('/')[1] | lower }}_{{ node.name }}
{%- elif path.startswith('models/marts/national/') and node.name.startswith('national_') -%}
{{ node.name[9:] }}
{%- elif path.startswith('models/marts/local/') and node.name.startswith('local_') -%}
{{ node.name[6:] }}_all
{%- else -%}
{{ node.name }}
{%- endif -%}
{%- endmacro %}
