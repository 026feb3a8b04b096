{{ config(materialized='view') }}
{{ national_rollup(grouping='site', period_type='year') }}
