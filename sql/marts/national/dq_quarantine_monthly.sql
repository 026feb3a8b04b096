-- grain: site x dataset x data month x rule
-- key: site_code, dataset, month, rule
-- materialized: view
-- description: rows held in quarantine per site, dataset, month of the data and rule they failed; a row that
--   failed two rules counts under both, and every row of a held batch counts under batch_held. Counts only, no
--   patient-level data (the rows themselves are in quarantine.<dataset>).
-- column site_code: ODS code of the site (or publisher) the rows came from
-- column dataset: dataset contract
-- column month: the reporting month the rows belong to (null when it could not be told)
-- column rule: the rule the rows failed, or batch_held
-- column rows_quarantined: quarantined rows that failed the rule
{% set datasets = ['ae_monthly', 'medication_administrations', 'patient_safety_incidents', 'inpatient_spells'] %}
with grouped as (
{% for d in datasets %}
    select _site as site_code, '{{ d }}' as dataset, _period as month, _failed_rules, count(*) as n
    from quarantine.{{ d }}
    group by _site, _period, _failed_rules
{% if not loop.last %}
    union all
{% endif %}
{% endfor %}
), named as (
    select
        site_code,
        dataset,
        month,
        n,
        case when _failed_rules like 'batch#_held:%' escape '#' then 'batch_held' else _failed_rules end as failed_rules
    from grouped
), split as (
    select site_code, dataset, month, n, unnest(string_to_array(failed_rules, ';')) as rule
    from named
)
select site_code, dataset, month, rule, cast(sum(n) as bigint) as rows_quarantined
from split
where rule <> ''
group by site_code, dataset, month, rule
