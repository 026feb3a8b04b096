{% for m in var('calendar') %}
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
