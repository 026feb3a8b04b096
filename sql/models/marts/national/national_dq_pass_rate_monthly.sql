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
select
    site_code, dataset, category, month, batches, checks, checks_passed, checks_failed, fatal_failed, error_failed,
    warning_failed, pass_rate
from measures.dq_pass_rate_monthly
