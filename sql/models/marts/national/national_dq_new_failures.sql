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
select
    site_code, dataset, source_name, batch_id, previous_batch_id,
    cast(date_trunc('month', loaded_at) as date) as loaded_month, is_latest, expectation, category, severity,
    unexpected_count, unexpected_percent, previous_result
from measures.dq_new_failures
