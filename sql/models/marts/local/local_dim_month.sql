{{ dim_month(where="site_code = '" ~ var('site').ods_code ~ "'") }}
