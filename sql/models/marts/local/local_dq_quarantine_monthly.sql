-- grain: dataset x source file x data month x rule
-- key: dataset, source_file, month, rule
-- materialized: view
-- description: this site's rows held in quarantine per site, dataset, month of the data and rule they failed; a row that
--   failed two rules counts under both, and every row of a held batch counts under batch_held. Counts only, no
--   patient-level data (the rows themselves are in quarantine.<dataset>; `benefits quarantine show` lists them).
-- column site_code: ODS code of the site (or publisher) the rows came from
-- column dataset: dataset contract
-- column source_file: the extract file the rows came from
-- column month: the reporting month the rows belong to (null when it could not be told)
-- column rule: the rule the rows failed, or batch_held
-- column rows_quarantined: quarantined rows that failed the rule
select site_code, dataset, source_file, month, rule, rows_quarantined
from measures.dq_quarantine_monthly
where site_code = '{{ site.ods_code }}'
