{{ config(materialized='view') }}
{{ national_rollup(grouping='region', period_type='quarter') }}
