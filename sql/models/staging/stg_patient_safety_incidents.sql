select
    incident_id,
    site_code,
    ward_code,
    occurred_at,
    reported_at,
    category,
    harm_level,
    medication_stage,
    _batch_id as batch_id
from {{ source('staging', 'patient_safety_incidents') }}
