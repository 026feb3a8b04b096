{{ config(materialized='view') }}
select
    batch_id, site_code, dataset, source_name, connector, status, period_start, period_end, rows_in, rows_loaded,
    rows_quarantined, quarantine_rate, checks, checks_failed, fatal_failed, error_failed, warning_failed,
    cast(date_trunc('month', loaded_at) as date) as loaded_month, superseded_by
from {{ ref('dq_batch') }}
