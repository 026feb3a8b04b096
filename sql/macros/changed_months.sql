{#- The rows of the site-months loads changed since an incremental model's last build (var
    changed_months: [{site, month, next}], month null for every month of the site; set by the
    runner, pipeline/warehouse/incremental.py). With no such var (a plain `dbt build` that is not
    --full-refresh) nothing has changed as far as dbt knows, so nothing is selected. -#}
{% macro changed_months(site_column, date_column) -%}
{%- set changed = var('changed_months', []) -%}
{%- if changed | length == 0 -%}
1 = 0
{%- else -%}
({% for c in changed %}{% if not loop.first %} or {% endif %}({{ site_column }} = '{{ c.site }}'
{%- if c.month %} and {{ date_column }} >= date '{{ c.month }}' and {{ date_column }} < date '{{ c.next }}'{% endif %}){% endfor %})
{%- endif -%}
{%- endmacro %}
