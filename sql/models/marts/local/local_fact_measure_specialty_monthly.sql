{{ local_rollup(var('site'), var('measures'), period='month', breakdown='specialty') }}
