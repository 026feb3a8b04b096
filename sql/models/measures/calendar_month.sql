-- grain: calendar month
-- key: month
-- description: calendar months with the NHS financial year (April to March, as 2024/25) and financial quarter
-- column month: first day of the calendar month
-- column next_month: first day of the following month
-- column calendar_year: calendar year
-- column month_of_year: 1 (January) to 12
-- column financial_year: NHS financial year, April to March, as 2024/25
-- column financial_quarter: quarter of the financial year: 1 = April to June ... 4 = January to March
-- column quarter_start: first day of the financial quarter
-- column financial_year_start: first day of the financial year (1 April)
-- column month_label: e.g. Apr 2024
{% for m in calendar %}
select
    cast('{{ m.month }}' as date) as month,
    cast('{{ m.next_month }}' as date) as next_month,
    {{ m.year }} as calendar_year,
    {{ m.month_of_year }} as month_of_year,
    '{{ m.financial_year }}' as financial_year,
    {{ m.financial_quarter }} as financial_quarter,
    cast('{{ m.quarter_start }}' as date) as quarter_start,
    cast('{{ m.financial_year_start }}' as date) as financial_year_start,
    '{{ m.label }}' as month_label
{% if not loop.last %} union all {% endif %}
{% endfor %}
