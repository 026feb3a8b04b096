{{ dim_measure(var('measures')) }}
