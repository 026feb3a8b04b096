"""Baseline for bench_run.py: the same job as `benefits run` on one ePMA CSV, as plain DuckDB SQL.

Reads the CSV, maps local codes, casts types, applies the same row rules as the pipeline's
medication_administrations suite, splits rows into staging and quarantine tables, and builds the
monthly omitted-critical-doses aggregate, in one DuckDB file. No Prefect, no Great
Expectations, no lineage: what a careful analyst would write by hand.

usage: python bench/plain_pipeline.py CSV DUCKDB_FILE PERIOD(YYYY-MM)
"""

from __future__ import annotations

import sys
import time

import duckdb

from pipeline.simulator.codes import LOCAL_CODE_MAPS, LOCAL_COLUMNS, WARDS

csv_path, db_path, period = sys.argv[1], sys.argv[2], sys.argv[3]
maps = LOCAL_CODE_MAPS["medication_administrations"]


def case(col: str, mapping: dict) -> str:
    whens = " ".join(f"when '{k}' then '{str(v).lower() if isinstance(v, bool) else v}'" for k, v in mapping.items())
    return f"case {col} {whens} else {col} end"


columns = ", ".join(f"'{c}': 'VARCHAR'" for c in LOCAL_COLUMNS["medication_administrations"])
wards = ", ".join(f"'{w}'" for w in WARDS["acute"])
reasons = ", ".join(f"'{v}'" for v in maps["omission_reason"].values())
t0 = time.perf_counter()
con = duckdb.connect(db_path, config={"memory_limit": "1GB"})
con.execute(f"""
create table typed as
select
    AdministrationID as administration_id, SiteCode as site_code, PatientID as patient_ref, WardCode as ward_code,
    DrugCode as drug_code,
    try_cast({case('CriticalMedicine', maps['critical_medicine'])} as boolean) as critical_medicine,
    try_cast(ScheduledTime as timestamp) as scheduled_at,
    try_cast(AdministeredTime as timestamp) as administered_at,
    {case('Status', maps['status'])} as status,
    {case('OmissionReason', maps['omission_reason'])} as omission_reason,
    try_cast(DoseValue as double) as dose_value,
    {case('DoseUnit', maps['dose_unit'])} as dose_unit,
    (ScheduledTime is not null and try_cast(ScheduledTime as timestamp) is null)
      or (AdministeredTime is not null and try_cast(AdministeredTime as timestamp) is null)
      or (DoseValue is not null and try_cast(DoseValue as double) is null) as bad_type
from read_csv('{csv_path}', header = true, auto_detect = false, columns = {{{columns}}}, delim = ',', quote = '"')
""")
con.execute("""
create table dup_keys as
select administration_id from typed where administration_id is not null group by 1 having count(*) > 1
""")
failing = f"""
    bad_type
    or administration_id is null or site_code is null or patient_ref is null or ward_code is null
    or drug_code is null or critical_medicine is null or scheduled_at is null or status is null
    or dose_value is null or dose_unit is null
    or status not in ('given', 'omitted', 'refused', 'not_required')
    or dose_unit not in ('mg', 'g', 'microgram', 'ml', 'unit', 'dose')
    or ward_code not in ({wards})
    or length(drug_code) < 6 or length(drug_code) > 18 or translate(drug_code, '0123456789', '') <> ''
    or (omission_reason is not null and omission_reason not in ({reasons}))
    or dose_value < 0
    or administered_at < scheduled_at
    or scheduled_at > current_timestamp or administered_at > current_timestamp
    or scheduled_at < date '{period}-01' or scheduled_at >= date '{period}-01' + interval 1 month
    or administration_id in (select administration_id from dup_keys)
"""
con.execute(f"create table quarantine as select * from typed where coalesce({failing}, false)")
con.execute(f"create table staging as select * exclude (bad_type) from typed where not coalesce({failing}, false)")
con.execute("""
create table omitted_critical_doses as
select site_code, date_trunc('month', scheduled_at) as month,
       count(*) filter (where status = 'omitted') as numerator, count(*) as denominator
from staging where critical_medicine and status <> 'not_required' group by all
""")
rows = con.execute("select (select count(*) from staging), (select count(*) from quarantine)").fetchall()[0]
con.close()
print(f"staging={rows[0]} quarantine={rows[1]} seconds={time.perf_counter() - t0:.2f}")
