-- grain: organisation (a configured trust, or any organisation with published national measure data)
-- key: site_code
-- description: every organisation in the national facts, with the trust type and region its figures are grouped
-- by in the region and trust-type comparisons; names come from the site configs or the ODS register
-- column site_code: ODS code of the organisation
-- column site_name: organisation name (configured name, else the ODS register's; null if neither is known)
-- column trust_type: acute, mental_health, community or ambulance for configured trusts; unknown for others
-- column region: NHS region (configured, else from the ODS register, else Unknown)
-- column configured: true when the site is configured in this pipeline and has its own local mart
select site_code, site_name, trust_type, region, configured
from measures.site_directory
