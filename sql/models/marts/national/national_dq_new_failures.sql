{{ config(materialized='view') }}
select
    site_code, dataset, source_name, batch_id, previous_batch_id,
    cast(date_trunc('month', loaded_at) as date) as loaded_month, is_latest, expectation, category, severity,
    unexpected_count, unexpected_percent, previous_result
from {{ ref('dq_new_failures') }}
