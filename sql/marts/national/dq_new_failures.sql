-- grain: batch x check that failed in that batch but passed (or was not evaluated) in the previous batch of the
--   same site and dataset
-- key: batch_id, expectation
-- materialized: view
-- description: data-quality failures new since the previous batch, per site and dataset; `is_latest` marks the
--   most recent batch, so `where is_latest` answers "what broke in the last delivery". A site's first batch has
--   no previous batch and is not listed. Quarantine releases are left out. Counts only, no patient-level data.
-- column site_code: ODS code of the site (or publisher)
-- column dataset: dataset contract
-- column source_name: the site's source that delivered the batch
-- column batch_id: the batch in which the check failed
-- column previous_batch_id: the batch before it for the same site and dataset
-- column loaded_month: month the batch was recorded (national tables carry no time finer than a month)
-- column is_latest: true for the most recent batch of the site and dataset
-- column expectation: the check (rule) that failed
-- column category: Kahn category of the check
-- column severity: fatal, error or warning
-- column unexpected_count: rows that failed the check (null for table-level checks)
-- column unexpected_percent: those rows as a percentage of the batch
-- column previous_result: passed, or not evaluated (the rule or column is new)
with batches as (
    select
        b.batch_id,
        b.site_code,
        b.dataset,
        b.source_name,
        b.loaded_at,
        lag(b.batch_id) over (partition by b.site_code, b.dataset order by b.loaded_at, b.batch_id) as previous_batch_id,
        row_number() over (partition by b.site_code, b.dataset order by b.loaded_at desc, b.batch_id desc) = 1 as is_latest
    from meta.load_batch b
    where b.connector <> 'quarantine-release'
        and exists (select 1 from meta.dq_result r where r.batch_id = b.batch_id)
)
select
    bt.site_code,
    bt.dataset,
    bt.source_name,
    bt.batch_id,
    bt.previous_batch_id,
    cast(date_trunc('month', bt.loaded_at) as date) as loaded_month,
    bt.is_latest,
    r.expectation,
    r.category,
    r.severity,
    r.unexpected_count,
    r.unexpected_percent,
    case when p.batch_id is null then 'not evaluated' else 'passed' end as previous_result
from batches bt
join meta.dq_result r on r.batch_id = bt.batch_id and not r.passed
left join meta.dq_result p on p.batch_id = bt.previous_batch_id and p.expectation = r.expectation
where bt.previous_batch_id is not null
    and (p.batch_id is null or p.passed)
