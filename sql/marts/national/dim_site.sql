-- grain: organisation (trust or other provider with published data)
-- key: site_code
-- description: configured sites with their trust type and region, plus every other organisation that appears in published national data
select site_code, site_name, trust_type, region, true as configured
from meta.site
where role = 'trust'
union all
select distinct m.site_code, cast(null as varchar) as site_name, 'unknown' as trust_type, cast(null as varchar) as region, false as configured
from measures.measure_monthly m
where m.site_code not in (select site_code from meta.site where role = 'trust')
