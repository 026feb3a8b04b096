-- grain: site x dataset x Kahn category x month in which the batches were validated
-- key: site_code, dataset, category, month
-- materialized: view
-- description: data-quality pass rate per site, dataset, Kahn category and month, as OHDSI's Data Quality
--   Dashboard reports it: checks passed over checks evaluated, one check per rule per batch (schema-drift
--   findings count as failed conformance checks). Quarantine releases are left out: they re-check rows
--   already known to have failed. Counts only, no patient-level data.
-- column site_code: ODS code of the site (or publisher) whose batches were validated
-- column dataset: dataset contract
-- column category: Kahn category: conformance, completeness or plausibility
-- column month: first day of the month in which the batches were validated
-- column batches: batches validated in the month
-- column checks: checks evaluated
-- column checks_passed: checks that passed
-- column checks_failed: checks that failed, of any severity
-- column fatal_failed: failed checks of severity fatal (each held its batch)
-- column error_failed: failed checks of severity error (their rows were quarantined)
-- column warning_failed: failed checks of severity warning (recorded only)
-- column pass_rate: checks_passed / checks
with results as (
    select
        r.site_code,
        r.dataset,
        r.category,
        r.severity,
        r.passed,
        r.batch_id,
        cast(date_trunc('month', coalesce(r.validated_at, b.loaded_at)) as date) as month
    from meta.dq_result r
    join meta.load_batch b on b.batch_id = r.batch_id
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
