select
    administration_id,
    site_code,
    patient_ref,
    ward_code,
    drug_code,
    critical_medicine,
    scheduled_at,
    administered_at,
    status,
    omission_reason,
    dose_value,
    dose_unit,
    _batch_id as batch_id
from {{ source('staging', 'medication_administrations') }}
