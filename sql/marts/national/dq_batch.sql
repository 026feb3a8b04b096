-- grain: batch
-- key: batch_id
-- materialized: view
-- description: every batch with its data-quality outcome: status, rows in, loaded and quarantined, and checks
--   failed by severity. Rows in = rows loaded + rows quarantined for every batch. A quarantine release is a
--   batch of its own (connector quarantine-release). Counts only, no patient-level data.
-- column batch_id: batch id (meta.load_batch)
-- column site_code: ODS code of the site (or publisher)
-- column dataset: dataset contract
-- column source_name: the site's source
-- column connector: connector that extracted it, or quarantine-release
-- column status: loaded, held, released (a held batch since released) or failed
-- column period_start: first day of the first month the batch covers
-- column period_end: last day of the last month it covers
-- column rows_in: rows extracted
-- column rows_loaded: rows loaded into staging
-- column rows_quarantined: rows sent to quarantine
-- column quarantine_rate: rows_quarantined / rows_in
-- column checks: checks evaluated
-- column checks_failed: checks failed, of any severity
-- column fatal_failed: fatal checks failed
-- column error_failed: error checks failed
-- column warning_failed: warning checks failed
-- column loaded_month: month the batch was recorded (national tables carry no time finer than a month)
-- column superseded_by: the batch that later replaced its months (or released it)
with checks as (
    select
        batch_id,
        count(*) as checks,
        count(*) filter (where not passed) as checks_failed,
        count(*) filter (where not passed and severity = 'fatal') as fatal_failed,
        count(*) filter (where not passed and severity = 'error') as error_failed,
        count(*) filter (where not passed and severity = 'warning') as warning_failed
    from meta.dq_result
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
    cast(date_trunc('month', b.loaded_at) as date) as loaded_month,
    b.superseded_by
from meta.load_batch b
left join checks c on c.batch_id = b.batch_id
