-- grain: measure
-- key: measure_code
-- description: the measures in this site's mart: the national core measures and the site's local measures
-- (declared in sql/local/<ods>/)
-- column measure_code: the measure's code, as used in every fact table
-- column measure_name: the measure's name for reports
-- column unit: unit of value
-- column improvement_direction: higher, lower or neutral: which way is better
-- column multiplier: value = numerator x multiplier / denominator
-- column family: how the numerator is distributed (binomial, poisson or mean), for the statistics
-- column numerator_definition: what the numerator counts
-- column denominator_definition: what the denominator counts (none for a plain count)
-- column description: what the measure shows
-- column finest_period: day or month: the finest time grain the source allows (month: no weekly figures)
-- column breakdowns: ward, specialty or none: which of the ward and specialty tables show it
-- column warm_up_months: first months of a site's extract that are incomplete for this measure (e.g. spells admitted before the extract are missing); provisional, left out of benefit estimates
-- column mature_after_days: days after a month's end before it is complete (a readmission needs 30 days to be seen); until then the month is provisional
-- column scope: national (core measure) or local (this site's own measure)
{% set measures = measures + site.local_measures %}
{% include "macros/dim_measure.sql" %}
