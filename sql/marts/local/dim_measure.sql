-- grain: measure
-- key: measure_code
-- description: the measures in this site's mart: the national core measures and the site's local measures
{% set measures = measures + site.local_measures %}
{% include "macros/dim_measure.sql" %}
