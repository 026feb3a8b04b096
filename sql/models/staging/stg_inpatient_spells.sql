select
    spell_id,
    site_code,
    patient_ref,
    ward_code,
    admitted_at,
    discharged_at,
    admission_method,
    main_specialty_code,
    discharge_destination,
    _batch_id as batch_id
from {{ source('staging', 'inpatient_spells') }}
