{{ config(materialized='view') }}
with checks as (
    select
        batch_id,
        count(*) as checks,
        count(*) filter (where not passed) as checks_failed,
        count(*) filter (where not passed and severity = 'fatal') as fatal_failed,
        count(*) filter (where not passed and severity = 'error') as error_failed,
        count(*) filter (where not passed and severity = 'warning') as warning_failed
    from {{ source('meta', 'dq_result') }}
    group by batch_id
)
select
    b.batch_id,
    b.site_code,
    b.dataset,
    b.source_name,
    b.connector,
    b.status,
    b.period_start,
    b.period_end,
    b.rows_in,
    b.rows_loaded,
    b.rows_quarantined,
    case when b.rows_in > 0 then cast(b.rows_quarantined as double precision) / b.rows_in end as quarantine_rate,
    coalesce(c.checks, 0) as checks,
    coalesce(c.checks_failed, 0) as checks_failed,
    coalesce(c.fatal_failed, 0) as fatal_failed,
    coalesce(c.error_failed, 0) as error_failed,
    coalesce(c.warning_failed, 0) as warning_failed,
    b.loaded_at,
    b.reason,
    b.superseded_by
from {{ source('meta', 'load_batch') }} b
left join checks c on c.batch_id = b.batch_id
