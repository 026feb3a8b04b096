{{ dim_measure(var('measures') + var('site').local_measures) }}
