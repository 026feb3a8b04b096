-- grain: calendar month
-- key: month
-- description: months covered by this site's facts, with NHS financial year and quarter
{% set where = "where site_code = '" ~ site.ods_code ~ "'" %}
{% include "macros/dim_month.sql" %}
