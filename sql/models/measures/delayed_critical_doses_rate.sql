-- measure: delayed_critical_doses_rate
-- name: Delayed critical medicine doses
-- unit: proportion
-- direction: lower
-- multiplier: 1
-- family: binomial
-- numerator: critical medicine doses given more than 30 minutes after they were due
-- denominator: critical medicine doses given
-- period: day
-- breakdowns: ward
-- description: share of given critical medicine doses that were given more than 30 minutes late
{# A day's doses are loaded with their month (the contract's period column is scheduled_at), so a
   site-month of this model is final until a batch replaces that month: incremental by site-month
   (pipeline/warehouse/incremental.py). #}
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['site_code', 'ward_code', 'day'], month_key=['site_code', 'day']) }}
select
    site_code,
    ward_code,
    cast(scheduled_at as date) as day,
    sum(case when administered_at > scheduled_at + interval '30 minutes' then 1 else 0 end) as numerator,
    count(*) as denominator
from {{ ref('stg_medication_administrations') }}
where critical_medicine and status = 'given'
{% if is_incremental() %}
    and {{ changed_months('site_code', 'scheduled_at') }}
{% endif %}
group by site_code, ward_code, cast(scheduled_at as date)
