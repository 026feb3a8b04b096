{{ dim_month(where=trust_filter(), by_site=true) }}
