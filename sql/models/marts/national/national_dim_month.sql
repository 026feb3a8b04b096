-- grain: calendar month
-- key: month
-- description: months covered by the national facts, with NHS financial year (April to March, e.g. 2024/25) and
-- quarter; join facts on month
-- column month: first day of the calendar month
-- column calendar_year: calendar year
-- column month_of_year: 1 (January) to 12
-- column financial_year: NHS financial year, April to March, as 2024/25
-- column financial_quarter: quarter of the financial year: 1 = April to June ... 4 = January to March
-- column financial_quarter_label: e.g. 2024/25 Q1
-- column quarter_start: first day of the financial quarter
-- column financial_year_start: first day of the financial year (1 April)
-- column month_label: e.g. Apr 2024
{% set where = "where scope = 'national'" %}
{% include "macros/dim_month.sql" %}
