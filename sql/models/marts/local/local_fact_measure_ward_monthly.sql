{{ local_rollup(var('measures') + var('local_measures'), period='month', breakdown='ward') }}
