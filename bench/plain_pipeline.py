"""Baseline for bench_run.py: the same job as `benefits run` on one ePMA CSV, as plain SQL.

Reads the CSV, maps local codes, casts types, applies the same row rules as the pipeline's
medication_administrations suite, splits rows into staging and quarantine tables, and builds the
monthly omitted-critical-doses aggregate. No Prefect, no Great Expectations, no lineage: what a
careful analyst would write by hand. The rules are written once below and rendered for either
engine:

- DuckDB: everything in one DuckDB file (`read_csv`, `try_cast`).
- PostgreSQL: COPY the CSV as text into an unlogged table (`--copy server`: the server reads the
  file itself; `--copy stdin`: psycopg streams the file's bytes, nothing parsed in Python), then
  the same statements as DuckDB's, with casts guarded by patterns (PostgreSQL 15 has no
  `try_cast`). Intermediate tables are unlogged; staging, quarantine and the aggregate are not.

usage: python bench/plain_pipeline.py CSV DUCKDB_FILE|POSTGRESQL_URL PERIOD(YYYY-MM) [--copy server|stdin]
"""

from __future__ import annotations

import sys
import time

from pipeline.simulator.codes import LOCAL_CODE_MAPS, LOCAL_COLUMNS, WARDS

MAPS = LOCAL_CODE_MAPS["medication_administrations"]
COLUMNS = LOCAL_COLUMNS["medication_administrations"]
TYPED = [
    "administration_id", "site_code", "patient_ref", "ward_code", "drug_code", "critical_medicine", "scheduled_at",
    "administered_at", "status", "omission_reason", "dose_value", "dose_unit",
]  # fmt: skip
TS_PATTERN = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"
NUM_PATTERN = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"


def case(col: str, mapping: dict) -> str:
    whens = " ".join(f"when '{k}' then '{str(v).lower() if isinstance(v, bool) else v}'" for k, v in mapping.items())
    return f"case {col} {whens} else {col} end"


def try_cast(expr: str, kind: str) -> str:
    """DuckDB: `expr` (text) as timestamp/double/boolean, null where it does not parse."""
    return f"try_cast({expr} as {kind})"


def typed_select(source: str, dialect: str) -> str:
    """Local codes mapped, types cast, and `bad_type` for a value present but not castable.

    PostgreSQL 15 has no `try_cast`: each text value is matched once against its pattern (in a
    subquery kept apart by `offset 0`, so the pattern is not evaluated again for `bad_type`) and
    cast only where it matches."""
    critical = case("CriticalMedicine", MAPS["critical_medicine"])
    if dialect == "duckdb":
        ts = lambda c: try_cast(c, "timestamp")  # noqa: E731
        num, flag = try_cast("DoseValue", "double"), try_cast(critical, "boolean")
        bad = ("(ScheduledTime is not null and {s} is null) or (AdministeredTime is not null and {a} is null)"
               " or (DoseValue is not null and {d} is null)").format(s=ts("ScheduledTime"), a=ts("AdministeredTime"), d=num)  # fmt: skip
        sched, admin = ts("ScheduledTime"), ts("AdministeredTime")
    else:
        source = (f"(select *, ScheduledTime ~ '{TS_PATTERN}' as s_ok, AdministeredTime ~ '{TS_PATTERN}' as a_ok, "
                  f"DoseValue ~ '{NUM_PATTERN}' as d_ok from {source} offset 0) r")  # fmt: skip
        sched = "case when s_ok then ScheduledTime::timestamp end"
        admin = "case when a_ok then AdministeredTime::timestamp end"
        num = "case when d_ok then DoseValue::float8 end"
        flag = f"case lower({critical}) when 'true' then true when 'false' then false end"
        bad = "not coalesce(s_ok, true) or not coalesce(a_ok, true) or not coalesce(d_ok, true)"
    return f"""
select
    AdministrationID as administration_id, SiteCode as site_code, PatientID as patient_ref, WardCode as ward_code,
    DrugCode as drug_code,
    {flag} as critical_medicine,
    {sched} as scheduled_at,
    {admin} as administered_at,
    {case('Status', MAPS['status'])} as status,
    {case('OmissionReason', MAPS['omission_reason'])} as omission_reason,
    {num} as dose_value,
    {case('DoseUnit', MAPS['dose_unit'])} as dose_unit,
    {bad} as bad_type
from {source}"""


def failing(period: str, dialect: str) -> str:
    """The suite's row rules: true for a row that goes to quarantine."""
    wards = ", ".join(f"'{w}'" for w in WARDS["acute"])
    reasons = ", ".join(f"'{v}'" for v in MAPS["omission_reason"].values())
    month_end = f"date '{period}-01' + interval {'1 month' if dialect == 'duckdb' else chr(39) + '1 month' + chr(39)}"
    return f"""
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
    or scheduled_at < date '{period}-01' or scheduled_at >= {month_end}
    or administration_id in (select administration_id from dup_keys)
"""


def statements(source: str, period: str, dialect: str, unlogged: str = "") -> list[str]:
    """typed -> dup_keys -> quarantine, staging -> monthly aggregate, for either engine."""
    bad = f"coalesce({failing(period, dialect)}, false)"
    return [
        f"create {unlogged} table typed as {typed_select(source, dialect)}",
        "create table dup_keys as select administration_id from typed where administration_id is not null "
        "group by 1 having count(*) > 1",
        f"create table quarantine as select * from typed where {bad}",
        f"create table staging as select {', '.join(TYPED)} from typed where not {bad}",
        """create table omitted_critical_doses as
select site_code, date_trunc('month', scheduled_at) as month,
       count(*) filter (where status = 'omitted') as numerator, count(*) as denominator
from staging where critical_medicine and status <> 'not_required' group by 1, 2""",
    ]


def run_duckdb(csv_path: str, db_path: str, period: str) -> tuple[int, int]:
    import duckdb

    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in COLUMNS)
    source = f"read_csv('{csv_path}', header = true, auto_detect = false, columns = {{{columns}}}, delim = ',', quote = '\"')"
    con = duckdb.connect(db_path, config={"memory_limit": "1GB"})
    for stmt in statements(source, period, "duckdb"):
        con.execute(stmt)
    rows = con.execute("select (select count(*) from staging), (select count(*) from quarantine)").fetchall()[0]
    con.close()
    return rows


def run_postgresql(csv_path: str, url: str, period: str, copy: str) -> tuple[int, int, dict]:
    import psycopg

    timings = {}
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"create unlogged table raw ({', '.join(c + ' text' for c in COLUMNS)})")
        t = time.perf_counter()
        if copy == "server":
            con.execute(f"copy raw from '{csv_path}' with (format csv, header true)")
        else:
            with con.cursor().copy("copy raw from stdin with (format csv, header true)") as cp, open(csv_path, "rb") as f:
                while chunk := f.read(1 << 20):
                    cp.write(chunk)
        timings["copy"] = time.perf_counter() - t
        # ~20 predicates multiply into a tiny row estimate; a hash join is right at any size
        con.execute("set enable_nestloop = off")
        for name, stmt in zip(("type", "dup_keys", "quarantine", "staging", "aggregate"), statements("raw", period, "postgresql", "unlogged")):
            t = time.perf_counter()
            con.execute(stmt)
            timings[name] = time.perf_counter() - t
        rows = con.execute("select (select count(*) from staging), (select count(*) from quarantine)").fetchone()
        timings["backend_hwm_mib"] = _backend_hwm(con.execute("select pg_backend_pid()").fetchone()[0])
    return rows[0], rows[1], timings


def _backend_hwm(pid: int) -> float | None:
    """The server backend's peak private memory (the server runs on this machine), if readable."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    import json

    csv_path, target, period = sys.argv[1], sys.argv[2], sys.argv[3]
    copy = sys.argv[sys.argv.index("--copy") + 1] if "--copy" in sys.argv else "server"
    t0 = time.perf_counter()
    if target.startswith("postgresql"):
        staging, quarantine, timings = run_postgresql(csv_path, target, period, copy)
        extra = f" steps={json.dumps({k: round(v, 2) if v is not None else None for k, v in timings.items()})}"
    else:
        staging, quarantine = run_duckdb(csv_path, target, period)
        extra = ""
    print(f"staging={staging} quarantine={quarantine} seconds={time.perf_counter() - t0:.2f}{extra}")


if __name__ == "__main__":
    main()
