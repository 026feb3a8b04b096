{{ dim_measure(var('measures') + var('local_measures'), trusts=trust_sites()) }}
