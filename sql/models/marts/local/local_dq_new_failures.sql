{{ config(materialized='view') }}
select
    site_code, dataset, source_name, batch_id, previous_batch_id, loaded_at, is_latest, expectation, category,
    severity, unexpected_count, unexpected_percent, previous_result
from {{ ref('dq_new_failures') }}
where {{ trust_filter() }}
