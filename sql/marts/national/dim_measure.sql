-- grain: measure
-- key: measure_code
-- description: the national core measures: definition, unit and which direction is improvement
{% include "macros/dim_measure.sql" %}
