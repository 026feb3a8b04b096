"""Benchmark validation and quarantine of one large `medication_administrations` batch.

What is measured (issue #4): ingest's validate + quarantine stages on a 10M-row batch, that is
Great Expectations evaluating the dataset's suite as SQL in the warehouse (`GXValidator`) and the
one-transaction split into staging and quarantine with lineage, meta.dq_result and meta.load_batch
(`commit_batch`). Baseline, measured in the same run on the same data: the same rules written as
plain SQL, executed with the engine's own driver (duckdb / psycopg, no SQLAlchemy, no GX):
repeated keys grouped once into a temporary table, every rule counted in one aggregate scan, then
one insert into quarantine (with the names of the rules each row broke) and one into staging.
Both start from the same landing table, put there with the engine's bulk path (DuckDB: a view
over the harmonised Parquet; PostgreSQL: COPY into an unlogged table); that common step is
reported on its own. Both paths must agree on every count, or the run fails.

The batch: `simulate_site` writes 12 months of contract-native Parquet (with the simulator's
deliberate defects), then `harmonise` types it exactly as ingest does. Every measurement runs in
a fresh child process against a fresh warehouse; peak memory is that child's maximum RSS.

    python bench/bench_validation.py                       # 10M rows, DuckDB and PostgreSQL
    python bench/bench_validation.py --rows 200000 --no-write
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import python, run_measured, write_section  # noqa: E402

DATASET = "medication_administrations"
DOSES_PER_MONTH_AT_SCALE_1 = 960_000  # as bench_simulator.py measured it
AS_OF = dt.datetime(2026, 1, 1)
LIMIT_RATIO = 1.5
LIMIT_RSS_MIB = 2048
PG_ADMIN = os.environ.get("BENEFITS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def mappings() -> dict:
    """A contract-native site's allowed codes: RF4's wards, the national omission reasons."""
    from pipeline.config.sites import load_sites
    from pipeline.config.settings import DEFAULT_SITES_DIR

    rf4 = load_sites(DEFAULT_SITES_DIR, ["RF4"])[0]
    reasons = sorted(set(rf4.mapping(DATASET)["omission_reason"].values()))
    return {"ward_code": list(rf4.mapping(DATASET)["ward_code"]), "omission_reason": reasons}


def rules():
    from dataset_contracts.contracts import get_contract
    from expectations.rules import build_rules

    return build_rules(get_contract(DATASET), mappings=mappings(), as_of=AS_OF)


# -- children ------------------------------------------------------------------------------------
def child_generate(work: Path, rows: int, months: int) -> None:
    """Simulate the extract and harmonise it into one typed batch, as ingest would."""
    import duckdb

    from connectors.base import ExtractContext
    from connectors.registry import get_connector
    from dataset_contracts.contracts import get_contract
    from dataset_contracts.conform import harmonise
    from pipeline.simulator import SimulationSpec, simulate_site

    t0 = time.perf_counter()
    end = dt.date(2016, 4, 1).year * 12 + 3 + months - 1
    spec = SimulationSpec(
        ods_code="RBM01",
        scale=rows / (months * DOSES_PER_MONTH_AT_SCALE_1),
        start="2016-04",
        end=f"{end // 12}-{end % 12 + 1:02d}",
        flavour="contract_parquet",
        datasets=(DATASET,),
    )
    simulate_site(spec, work / "extract")
    t1 = time.perf_counter()
    ctx = ExtractContext(site_code="RBM01", dataset=DATASET, source_name="epma", work_dir=work / "tmp")
    con = duckdb.connect(config={"memory_limit": "1GB", "temp_directory": str(work / "tmp")})
    connector = get_connector("files")({"path": str(work / "extract" / DATASET / "*.parquet")}, ctx)
    h = harmonise(
        con,
        connector.relation(con),
        get_contract(DATASET),
        site_code="RBM01",
        mappings=mappings(),
        file_columns=connector.file_columns,
        out_path=work / "batch.parquet",
    )
    con.close()
    print(json.dumps({"rows": h.rows, "months": [m.isoformat() for m in h.months], "simulate_s": t1 - t0,
                      "harmonise_s": time.perf_counter() - t1}))  # fmt: skip


def _fresh_tables(url: str) -> None:
    from pipeline.warehouse.core import Warehouse
    from pipeline.warehouse.ddl import ensure_schema

    wh = Warehouse(url)
    ensure_schema(wh)
    wh.dispose()


def child_pipeline(url: str, parquet: str, batch: str) -> None:
    """Ingest's own stages: landing, GXValidator.validate, commit_batch."""
    from dataset_contracts.contracts import get_contract
    from expectations.runner import GXValidator
    from pipeline.ingest.landing import create_landing, drop_landing, landing_table
    from pipeline.ingest.load import BatchRecord, commit_batch
    from pipeline.warehouse.core import Warehouse

    info = json.loads(batch)
    contract = get_contract(DATASET)
    _fresh_tables(url)
    wh = Warehouse(url)
    t = time.perf_counter()
    validator = GXValidator(wh.gx_connection_string, wh.engine_kwargs)
    gx_start = time.perf_counter() - t
    rec = BatchRecord("benchbatch", "RBM01", DATASET, "epma", "files", dt.datetime.now(), checksum="bench",
                      rows_in=info["rows"], months=[dt.date.fromisoformat(m) for m in info["months"]])  # fmt: skip
    the_rules = rules()
    t = time.perf_counter()
    create_landing(wh, rec.batch_id, Path(parquet), contract)
    landing = time.perf_counter() - t
    t = time.perf_counter()
    results = validator.validate("landing", f"b_{rec.batch_id}", the_rules, rec.rows_in, DATASET)
    validate = time.perf_counter() - t
    holds = [r.describe() for r in results if r.holds_batch]
    if holds:
        raise SystemExit(f"the bench batch was held: {holds}")
    t = time.perf_counter()
    commit_batch(wh, rec, contract=contract, table=landing_table(rec.batch_id), rules=the_rules, results=results,
                 extra_dq=[], files=[], state=None)  # fmt: skip
    split = time.perf_counter() - t
    drop_landing(wh, rec.batch_id)
    counts = {r.rule.name: r.unexpected_count for r in results if r.unexpected_count is not None}
    print(json.dumps({"gx_start_s": gx_start, "landing_s": landing, "check_s": validate, "split_s": split,
                      "loaded": rec.rows_loaded, "quarantined": rec.rows_quarantined, "counts": counts}))  # fmt: skip


def plain_sql(dialect: str, table: str) -> dict[str, list[str] | str]:
    """The baseline script: the suite's rules as hand-written SQL (printed with --show-sql)."""
    from dataset_contracts.contracts import get_contract
    from pipeline.warehouse.core import sql_literal

    contract = get_contract(DATASET)
    the_rules = rules()
    row_rules = [r for r in the_rules if r.unexpected is not None]
    key = next(r for r in the_rules if r.unique_columns).unique_columns[0]
    error = [r for r in row_rules if r.severity == "error"]
    cols = contract.column_names + ["_source_file", "_period"]
    lineage = "'benchbatch', 'RBM01', 'epma'"
    any_error = " or ".join(f"coalesce({r.unexpected}, false)" for r in error)
    failed = ", ".join(f"case when coalesce({r.unexpected}, false) then {sql_literal(r.name)} end" for r in error)
    unique_rule = next(r for r in the_rules if r.unique_columns).name
    counts = ", ".join(f"count(*) filter (where {r.unexpected})" for r in row_rules)
    target = ", ".join(cols + ["_batch_id", "_site", "_source_name"])
    return {
        "names": [r.name for r in row_rules],
        "unique": unique_rule,
        "check": [
            "drop table if exists dup_keys",
            f"create temporary table dup_keys as select {key} as k, count(*) as n from {table} "
            f"where {key} is not null group by {key} having count(*) > 1",
            f"select count(*), {counts} from {table}",
            "select coalesce(sum(n), 0) from dup_keys",
            "select column_name from information_schema.columns "
            f"where table_schema = 'landing' and table_name = '{table.split('.')[1]}'",
        ],
        "split": [
            f"insert into quarantine.{DATASET} ({target}, _conform_errors, _failed_rules) "
            f"select {', '.join('l.' + c for c in cols)}, {lineage}, l._conform_errors, "
            f"concat_ws(';', {failed}, case when d.k is not null then {sql_literal(unique_rule)} end) "
            f"from {table} l left join dup_keys d on l.{key} = d.k where {any_error} or d.k is not null",
            f"insert into staging.{DATASET} ({target}) select {', '.join(cols)}, {lineage} from {table} l "
            f"where not ({any_error}) and not exists (select 1 from dup_keys d where d.k = l.{key})",
        ],
    }


def child_plain(url: str, parquet: str, batch: str) -> None:
    """The same rules and split as plain SQL through the engine's own driver."""
    import sqlalchemy as sa

    from dataset_contracts.contracts import get_contract
    from pipeline.ingest.landing import create_landing, drop_landing, landing_table
    from pipeline.warehouse.core import Warehouse

    info = json.loads(batch)
    _fresh_tables(url)
    batch_id = "benchbatch"
    table = landing_table(batch_id)
    wh = Warehouse(url)
    t = time.perf_counter()
    create_landing(wh, batch_id, Path(parquet), get_contract(DATASET))
    landing = time.perf_counter() - t
    dialect = wh.dialect
    wh.dispose()
    script = plain_sql(dialect, table)
    meta_batch = (
        "insert into meta.load_batch (batch_id, site_code, dataset, source_name, connector, rows_in, rows_loaded, "
        "rows_quarantined, status, loaded_at) values ('benchbatch', 'RBM01', %s, 'epma', 'files', %s, %s, %s, "
        "'loaded', current_timestamp)"
    )
    meta_dq = (
        "insert into meta.dq_result (batch_id, site_code, dataset, expectation, category, severity, element_count, "
        "unexpected_count, passed) values ('benchbatch', 'RBM01', %s, %s, 'plausibility', 'error', %s, %s, %s)"
    )
    if dialect == "duckdb":
        import duckdb

        con = duckdb.connect(sa.engine.make_url(url).database, config={"memory_limit": "1GB"})
        cur = con
        meta_batch, meta_dq = meta_batch.replace("%s", "?"), meta_dq.replace("%s", "?")
    else:
        import psycopg

        con = psycopg.connect(sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
        cur = con.cursor()
    t = time.perf_counter()
    if dialect == "duckdb":
        cur.execute("begin")
    else:
        # as in commit_batch: PostgreSQL's estimate for ~20 predicates would pick a nested-loop anti join
        cur.execute("set local enable_nestloop = off")
    for stmt in script["check"][:2]:
        cur.execute(stmt)
    row = cur.execute(script["check"][2]).fetchone()
    dups = cur.execute(script["check"][3]).fetchone()[0]
    cur.execute(script["check"][4]).fetchall()
    check = time.perf_counter() - t
    t = time.perf_counter()
    for stmt in script["split"]:
        cur.execute(stmt)
    quarantined = cur.execute(f"select count(*) from quarantine.{DATASET} where _batch_id = 'benchbatch'").fetchone()[0]
    counts = dict(zip(script["names"], (int(v) for v in row[1:])))
    counts[script["unique"]] = int(dups)
    loaded = row[0] - quarantined
    cur.execute(meta_batch, (DATASET, row[0], loaded, quarantined))
    if dialect == "duckdb":
        con.executemany(meta_dq, [(DATASET, n, row[0], c, c == 0) for n, c in counts.items()])
    else:
        cur.executemany(meta_dq, [(DATASET, n, row[0], c, c == 0) for n, c in counts.items()])
    if dialect == "duckdb":
        cur.execute("commit")
    else:
        con.commit()
    split = time.perf_counter() - t
    con.close()
    wh = Warehouse(url)
    drop_landing(wh, batch_id)
    print(json.dumps({"landing_s": landing, "check_s": check, "split_s": split, "loaded": int(loaded),
                      "quarantined": int(quarantined), "counts": counts, "rows": info["rows"]}))  # fmt: skip


# -- the run ------------------------------------------------------------------------------------------
def _pg_database():
    import sqlalchemy as sa

    name = f"bench_validation_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'create database "{name}"'))
    url = sa.engine.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as c:
            c.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()

    return url, drop


def _measure(kind: str, engine: str, work: Path, parquet: Path, batch: str) -> dict:
    if engine == "duckdb":
        db = work / f"{kind}.duckdb"
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
        url, drop = f"duckdb:///{db}", (lambda: db.unlink(missing_ok=True))
    else:
        url, drop = _pg_database()
    try:
        seconds, rss, out = run_measured(
            [python(), str(Path(__file__).resolve()), "--child", kind, url, str(parquet), batch],
            env={"BENEFITS_HOME": str(work / "home")},
        )
    finally:
        drop()
    result = json.loads(out.strip().splitlines()[-1])
    result.update(process_s=seconds, rss_mib=rss)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows in the batch (about)")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--engines", default="duckdb,postgresql")
    ap.add_argument("--repeat", type=int, default=1, help="measure each path this many times; the best counts")
    ap.add_argument("--workdir", type=Path, help="keep the generated batch here (reused when present)")
    ap.add_argument("--no-write", action="store_true", help="print the section instead of writing docs/benchmarks.md")
    ap.add_argument("--show-sql", action="store_true", help="print the baseline's SQL and exit")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        {"generate": lambda: child_generate(Path(rest[0]), int(rest[1]), int(rest[2])),
         "pipeline": lambda: child_pipeline(*rest), "plain": lambda: child_plain(*rest)}[kind]()  # fmt: skip
        return
    if args.show_sql:
        script = plain_sql("duckdb", "landing.b_benchbatch")
        print(";\n\n".join([*script["check"], *script["split"]]) + ";")
        return

    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-validation-"))
    work.mkdir(parents=True, exist_ok=True)
    parquet, info_file = work / "batch.parquet", work / f"batch-{args.rows}.json"
    if not (parquet.exists() and info_file.exists()):
        shutil.rmtree(work / "extract", ignore_errors=True)
        seconds, rss, out = run_measured([python(), __file__, "--child", "generate", str(work), str(args.rows), str(args.months)])
        info_file.write_text(out.strip().splitlines()[-1])
    info = json.loads(info_file.read_text())
    batch = json.dumps({"rows": info["rows"], "months": info["months"]})
    print(f"batch: {info['rows']:,} rows, {len(info['months'])} months in {work}", flush=True)

    rows_md = []
    verdicts = []
    for engine in args.engines.split(","):
        best: dict[str, dict] = {}
        for rep in range(args.repeat):
            for kind in (("pipeline", "plain") if rep % 2 == 0 else ("plain", "pipeline")):
                r = _measure(kind, engine, work, parquet, batch)
                print(f"{engine} {kind}: {json.dumps({k: v for k, v in r.items() if k != 'counts'})}", flush=True)
                if kind not in best or r["check_s"] + r["split_s"] < best[kind]["check_s"] + best[kind]["split_s"]:
                    best[kind] = r
        gx, sql = best["pipeline"], best["plain"]
        if (gx["loaded"], gx["quarantined"], gx["counts"]) != (sql["loaded"], sql["quarantined"], sql["counts"]):
            raise SystemExit(f"{engine}: the two paths disagree:\n{gx}\n{sql}")
        work_gx, work_sql = gx["check_s"] + gx["split_s"], sql["check_s"] + sql["split_s"]
        ratio = work_gx / work_sql
        ratio_landed = (work_gx + gx["landing_s"]) / (work_sql + sql["landing_s"])
        verdicts.append((engine, ratio, gx["rss_mib"]))
        for label, r, total in (("pipeline: GX suite + commit_batch", gx, work_gx), ("baseline: plain SQL", sql, work_sql)):
            rows_md.append(
                f"| {engine} | {label} | {r['landing_s']:.1f} | {r['check_s']:.1f} | {r['split_s']:.1f} | {total:.1f} "
                f"| {(total / work_sql):.2f}x | {(total + r['landing_s']) / (work_sql + sql['landing_s']):.2f}x "
                f"| {r['rss_mib']:.0f} |"
            )
        print(f"{engine}: ratio {ratio:.2f} (with landing {ratio_landed:.2f}); peak RSS {gx['rss_mib']:.0f} MiB", flush=True)

    duck = next((v for v in verdicts if v[0] == "duckdb"), None)
    quarantined = gx["quarantined"]
    lines = [
        f"Validation and quarantine of one `{DATASET}` batch of {info['rows']:,} rows ({len(info['months'])} months, "
        f"simulated with the simulator's deliberate defects; {quarantined:,} rows quarantined by "
        f"{len([r for r in rules() if r.row_level])} row-level rules out of {len(rules())}). "
        "Pipeline: ingest's own stages, Great Expectations evaluating the suite as SQL in the warehouse "
        "(`GXValidator`) and `commit_batch` (split into staging and quarantine, lineage, meta.dq_result, "
        "meta.load_batch, one transaction). Baseline: the same rules as plain SQL through the engine's own driver "
        "(repeated keys grouped once, every rule counted in one scan, one insert into quarantine with the rules each "
        "row broke, one into staging; `python bench/bench_validation.py --show-sql` prints it). Both paths start "
        "from the same landing table and must agree on every count.",
        "",
        "| engine | path | landing s | checks s | split s | checks + split s | ratio | ratio incl. landing | peak RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows_md,
        "",
    ]
    if duck:
        ok = duck[1] <= LIMIT_RATIO and duck[2] < LIMIT_RSS_MIB
        lines.append(
            f"Acceptance (DuckDB): checks + split within {LIMIT_RATIO}x of plain SQL and peak memory under "
            f"{LIMIT_RSS_MIB // 1024} GiB: {'met' if ok else 'NOT met'} ({duck[1]:.2f}x, {duck[2]:.0f} MiB)."
        )
    lines.append(
        "Landing is the engine's bulk path and the same for both (DuckDB: a view over the harmonised Parquet; "
        "PostgreSQL: COPY into an unlogged table). The baseline groups repeated keys in its checks step, the pipeline "
        "in its split (GX groups them once more for its own uniqueness count). "
        "Peak RSS is the whole child process, GX's import included; "
        f"GX's one-off start-up per process (not per batch) is left out of the timings. Best of {args.repeat} "
        "run(s) per path. The pipeline's split tests the row rules once and moves staging rows by landing row "
        "number; the baseline tests them again in its staging insert, which is why DuckDB can come out under 1x."
    )
    section = "\n".join(lines)
    if args.no_write:
        print(section)
    else:
        write_section("validation", section)
        print(section)


if __name__ == "__main__":
    main()
