{{ config(materialized='view') }}
{{ national_rollup(grouping='trust_type', period_type='year') }}
