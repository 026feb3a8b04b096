-- grain: calendar month
-- key: month
-- description: calendar months with the NHS financial year (April to March, as 2024/25) and financial quarter
{% for m in calendar %}
select
    cast('{{ m.month }}' as date) as month,
    cast('{{ m.next_month }}' as date) as next_month,
    {{ m.year }} as calendar_year,
    {{ m.month_of_year }} as month_of_year,
    '{{ m.financial_year }}' as financial_year,
    {{ m.financial_quarter }} as financial_quarter,
    '{{ m.label }}' as month_label
{% if not loop.last %} union all {% endif %}
{% endfor %}
