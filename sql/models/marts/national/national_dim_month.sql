{{ dim_month(where="scope = 'national'") }}
