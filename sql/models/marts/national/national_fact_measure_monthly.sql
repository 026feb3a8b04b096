{{ national_rollup(grouping='site', period_type='month') }}
