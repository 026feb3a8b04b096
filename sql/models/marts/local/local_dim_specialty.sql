-- grain: NHS main specialty
-- key: specialty_code
-- description: the NHS main specialties that appear in this site's specialty-level facts, with their names
-- column specialty_code: NHS main specialty code (3 digits)
-- column specialty_name: the specialty's name in the NHS Data Dictionary (null for a code not listed here)
-- column first_month: first month with data for the specialty
-- column last_month: last month with data for the specialty
-- column measures: number of measures with data for the specialty
{% from "macros/specialties.sql" import specialty_name %}
select
    specialty_code,
    {{ specialty_name('specialty_code') }} as specialty_name,
    cast(date_trunc('month', cast(min(day) as timestamp)) as date) as first_month,
    cast(date_trunc('month', cast(max(day) as timestamp)) as date) as last_month,
    count(distinct measure_code) as measures
from measures.measure_detail
where site_code = '{{ site.ods_code }}' and specialty_code is not null
group by specialty_code
