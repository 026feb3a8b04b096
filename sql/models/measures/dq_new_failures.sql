{{ config(materialized='view') }}
with batches as (
    select
        b.batch_id,
        b.site_code,
        b.dataset,
        b.source_name,
        b.loaded_at,
        lag(b.batch_id) over (partition by b.site_code, b.dataset order by b.loaded_at, b.batch_id) as previous_batch_id,
        row_number() over (partition by b.site_code, b.dataset order by b.loaded_at desc, b.batch_id desc) = 1 as is_latest
    from {{ source('meta', 'load_batch') }} b
    where b.connector <> 'quarantine-release'
        and exists (select 1 from {{ source('meta', 'dq_result') }} r where r.batch_id = b.batch_id)
)
select
    bt.site_code,
    bt.dataset,
    bt.source_name,
    bt.batch_id,
    bt.previous_batch_id,
    bt.loaded_at,
    bt.is_latest,
    r.expectation,
    r.category,
    r.severity,
    r.unexpected_count,
    r.unexpected_percent,
    case when p.batch_id is null then 'not evaluated' else 'passed' end as previous_result
from batches bt
join {{ source('meta', 'dq_result') }} r on r.batch_id = bt.batch_id and not r.passed
left join {{ source('meta', 'dq_result') }} p on p.batch_id = bt.previous_batch_id and p.expectation = r.expectation
where bt.previous_batch_id is not null
    and (p.batch_id is null or p.passed)
