{{ local_rollup(var('measures') + var('local_measures'), period='week', breakdown=none) }}
