{{ config(materialized='view') }}
select site_code, dataset, month, rule, cast(sum(rows_quarantined) as bigint) as rows_quarantined
from {{ ref('dq_quarantine_monthly') }}
group by site_code, dataset, month, rule
