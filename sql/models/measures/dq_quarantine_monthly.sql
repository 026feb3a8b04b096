{{ config(materialized='view') }}
with grouped as (
{% for d in var('datasets') %}
    select _site as site_code, '{{ d }}' as dataset, _source_file as source_file, _period as month, _failed_rules, count(*) as n
    from {{ source('quarantine', d) }}
    group by _site, _source_file, _period, _failed_rules
{% if not loop.last %}
    union all
{% endif %}
{% endfor %}
), named as (
    select
        site_code,
        dataset,
        source_file,
        month,
        n,
        case when _failed_rules like 'batch#_held:%' escape '#' then 'batch_held' else _failed_rules end as failed_rules
    from grouped
), split as (
    select site_code, dataset, source_file, month, n, unnest(string_to_array(failed_rules, ';')) as rule
    from named
)
select site_code, dataset, source_file, month, rule, cast(sum(n) as bigint) as rows_quarantined
from split
where rule <> ''
group by site_code, dataset, source_file, month, rule
