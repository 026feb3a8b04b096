select
    org_code,
    cast(period as date) as period,
    dept_type,
    attendances,
    breaches_4h,
    emergency_admissions,
    _batch_id as batch_id,
    _site as loaded_by_site
from {{ source('staging', 'ae_monthly') }}
