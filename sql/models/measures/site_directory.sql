-- grain: organisation (a configured trust, or any organisation with national measure data)
-- key: site_code
-- description: every organisation the national mart describes, with the name, trust type and region used to
-- group it (configured sites from meta.site; others named from the ODS register when it has been fetched)
-- column site_code: ODS code of the organisation
-- column site_name: name (configured name, else the ODS register's; null if neither is known)
-- column trust_type: acute, mental_health, ... for configured trusts; unknown otherwise
-- column region: NHS region (configured, else from the ODS register, else Unknown)
-- column configured: true when the site is configured here and has its own local mart
with configured as (
    select site_code, site_name, trust_type, region
    from meta.site
    where role = 'trust'
),
seen as (
    select site_code from configured
    union
    select distinct site_code from measures.measure_monthly where scope = 'national'
)
select
    s.site_code,
    coalesce(c.site_name{{ ', o.name' if has_ods_organisation else '' }}) as site_name,
    coalesce(c.trust_type, 'unknown') as trust_type,
    coalesce(c.region{{ ', o.region' if has_ods_organisation else '' }}, 'Unknown') as region,
    c.site_code is not null as configured
from seen s
left join configured c on c.site_code = s.site_code
{% if has_ods_organisation %}
left join (
    select org_code, max(name) as name, max(region) as region
    from meta.ods_organisation
    group by org_code
) o on o.org_code = s.site_code
{% endif %}
