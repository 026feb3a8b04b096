{{ config(materialized='view') }}
select site_code, dataset, source_file, month, rule, rows_quarantined
from {{ ref('dq_quarantine_monthly') }}
where {{ trust_filter() }}
