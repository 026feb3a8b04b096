with configured as (
    select site_code, site_name, trust_type, region
    from {{ source('meta', 'site') }}
    where role = 'trust'
),
seen as (
    select site_code from configured
    union
    select distinct site_code from {{ ref('measure_monthly') }} where scope = 'national'
)
select
    s.site_code,
    coalesce(c.site_name{{ ', o.name' if var('has_ods_organisation') else '' }}) as site_name,
    coalesce(c.trust_type, 'unknown') as trust_type,
    coalesce(c.region{{ ', o.region' if var('has_ods_organisation') else '' }}, 'Unknown') as region,
    c.site_code is not null as configured
from seen s
left join configured c on c.site_code = s.site_code
{% if var('has_ods_organisation') %}
left join (
    select org_code, max(name) as name, max(region) as region
    from {{ source('meta', 'ods_organisation') }}
    group by org_code
) o on o.org_code = s.site_code
{% endif %}
