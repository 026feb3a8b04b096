-- grain: org_code x month x department type
-- key: org_code, period, dept_type
-- description: validated A&E monthly activity, one row per organisation, month and department type
select
    org_code,
    cast(period as date) as period,
    dept_type,
    attendances,
    breaches_4h,
    emergency_admissions,
    _batch_id as batch_id,
    _site as loaded_by_site
from staging.ae_monthly
