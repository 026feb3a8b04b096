-- grain: site_code x measure_code x month
-- key: site_code, measure_code, month
-- description: every measure per site and month (national core measures for every site, local measures for their
-- own site), with its value (numerator x multiplier / denominator); what the marts and the benefits engine read
-- column site_code: ODS code of the organisation
-- column measure_code: the measure (see dim_measure)
-- column scope: national or local
-- column month: calendar month (first day)
-- column numerator: the measure's numerator in the month
-- column denominator: the measure's denominator in the month (null for counts)
-- column value: numerator x multiplier / denominator (the numerator for counts); null when the denominator is 0
{% from "macros/value.sql" import value %}
select
    site_code,
    measure_code,
    scope,
    month,
    numerator,
    denominator,
    {{ value(measures + local_measures, 'numerator', 'denominator') }} as value
from (
    select
        site_code,
        measure_code,
        scope,
        cast(date_trunc('month', cast(day as timestamp)) as date) as month,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from measures.measure_detail
    group by site_code, measure_code, scope, cast(date_trunc('month', cast(day as timestamp)) as date)
) monthly
