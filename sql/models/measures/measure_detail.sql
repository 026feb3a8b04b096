-- grain: site_code x measure_code x ward_code x specialty_code x day
-- key: site_code, measure_code, ward_code, specialty_code, day
-- description: every measure (national core measures for every site, and each site's local measures for that
-- site only) at its finest grain, in one long table; ward and specialty are null where the measure has no such
-- breakdown, and day is the first of the month for monthly sources (period: month)
-- column site_code: ODS code of the organisation
-- column measure_code: the measure (see dim_measure)
-- column scope: national (a core measure) or local (one site's own measure)
-- column ward_code: site ward code, or null when the measure has no ward breakdown
-- column specialty_code: NHS main specialty code, or null when the measure has no specialty breakdown
-- column day: the day the events count on (first of the month for monthly sources)
-- column numerator: the measure's numerator over the rows of this grain
-- column denominator: the measure's denominator over the rows of this grain (null for counts)
{% for m in measures + local_measures %}
select
    site_code,
    '{{ m.code }}' as measure_code,
    '{{ m.scope }}' as scope,
    {{ 'cast(ward_code as varchar)' if 'ward' in m.breakdowns else 'cast(null as varchar)' }} as ward_code,
    {{ 'cast(specialty_code as varchar)' if 'specialty' in m.breakdowns else 'cast(null as varchar)' }} as specialty_code,
    cast({{ 'month' if m.period == 'month' else 'day' }} as date) as day,
    cast(numerator as double precision) as numerator,
    {{ 'cast(denominator as double precision)' if m.has_denominator else 'cast(null as double precision)' }} as denominator
from measures.{{ m.model }}
{% if m.scope == 'local' %}
where site_code = '{{ m.site }}'
{% endif %}
{% if not loop.last %}
union all
{% endif %}
{% endfor %}
