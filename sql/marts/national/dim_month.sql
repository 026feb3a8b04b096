-- grain: calendar month
-- key: month
-- description: months covered by the national facts, with NHS financial year (April to March, e.g. 2024/25) and quarter
{% set where = "" %}
{% include "macros/dim_month.sql" %}
