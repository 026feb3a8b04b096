select site_code, site_name, trust_type, region, configured
from {{ ref('site_directory') }}
