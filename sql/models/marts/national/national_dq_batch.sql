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
select
    batch_id, site_code, dataset, source_name, connector, status, period_start, period_end, rows_in, rows_loaded,
    rows_quarantined, quarantine_rate, checks, checks_failed, fatal_failed, error_failed, warning_failed,
    cast(date_trunc('month', loaded_at) as date) as loaded_month, superseded_by
from measures.dq_batch
