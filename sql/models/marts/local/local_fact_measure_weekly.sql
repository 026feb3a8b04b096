{{ local_rollup(var('site'), var('measures'), period='week', breakdown=none) }}
