{{ config(materialized='view') }}
select
    site_code, dataset, category, month, batches, checks, checks_passed, checks_failed, fatal_failed, error_failed,
    warning_failed, pass_rate
from {{ ref('dq_pass_rate_monthly') }}
where {{ trust_filter() }}
