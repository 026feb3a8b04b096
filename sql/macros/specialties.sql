{# NHS main specialty codes and names (NHS Data Dictionary, main specialty code), for dim_specialty. #}
{% macro specialty_name(column) -%}
{% set SPECIALTIES = {
    '100': 'General surgery', '101': 'Urology', '110': 'Trauma and orthopaedics', '120': 'Ear, nose and throat',
    '130': 'Ophthalmology', '140': 'Oral surgery', '143': 'Orthodontics', '145': 'Oral and maxillofacial surgery',
    '150': 'Neurosurgery', '160': 'Plastic surgery', '170': 'Cardiothoracic surgery', '171': 'Paediatric surgery',
    '180': 'Emergency medicine', '190': 'Anaesthetics', '192': 'Intensive care medicine', '300': 'General medicine',
    '301': 'Gastroenterology', '302': 'Endocrinology', '303': 'Clinical haematology', '315': 'Palliative medicine',
    '320': 'Cardiology', '330': 'Dermatology', '340': 'Respiratory medicine', '350': 'Infectious diseases',
    '361': 'Nephrology', '370': 'Medical oncology', '400': 'Neurology', '410': 'Rheumatology', '420': 'Paediatrics',
    '430': 'Geriatric medicine', '500': 'Obstetrics and gynaecology', '501': 'Obstetrics', '502': 'Gynaecology',
    '560': 'Midwifery', '700': 'Learning disability', '710': 'Adult mental illness',
    '711': 'Child and adolescent psychiatry', '712': 'Forensic psychiatry', '713': 'Medical psychotherapy',
    '715': 'Old age psychiatry', '800': 'Clinical oncology', '810': 'Radiology', '820': 'General pathology',
} %}
case {{ column }}
{% for code, name in SPECIALTIES | dictsort %}
    when '{{ code }}' then '{{ name }}'
{% endfor %}
end
{%- endmacro %}
