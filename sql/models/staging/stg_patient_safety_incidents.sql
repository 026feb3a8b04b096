-- grain: one reported incident
-- key: incident_id
-- description: validated patient safety incidents in national categories and harm levels
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
from staging.patient_safety_incidents
