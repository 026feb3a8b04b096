{{ config(materialized='view') }}
select
    batch_id, site_code, dataset, source_name, connector, status, period_start, period_end, rows_in, rows_loaded,
    rows_quarantined, quarantine_rate, checks, checks_failed, fatal_failed, error_failed, warning_failed, loaded_at,
    reason, superseded_by
from {{ ref('dq_batch') }}
where {{ trust_filter() }}
