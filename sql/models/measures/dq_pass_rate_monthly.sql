{{ config(materialized='view') }}
with results as (
    select
        r.site_code,
        r.dataset,
        r.category,
        r.severity,
        r.passed,
        r.batch_id,
        cast(date_trunc('month', coalesce(r.validated_at, b.loaded_at)) as date) as month
    from {{ source('meta', 'dq_result') }} r
    join {{ source('meta', 'load_batch') }} b on b.batch_id = r.batch_id
    where b.connector <> 'quarantine-release'
)
select
    site_code,
    dataset,
    category,
    month,
    count(distinct batch_id) as batches,
    count(*) as checks,
    count(*) filter (where passed) as checks_passed,
    count(*) filter (where not passed) as checks_failed,
    count(*) filter (where not passed and severity = 'fatal') as fatal_failed,
    count(*) filter (where not passed and severity = 'error') as error_failed,
    count(*) filter (where not passed and severity = 'warning') as warning_failed,
    cast(count(*) filter (where passed) as double precision) / count(*) as pass_rate
from results
group by site_code, dataset, category, month
