"""Marts build time as the number of sites grows, two versions of the code in the same run (issue 16 #2:
"per-site local marts must not multiply models").

    python bench/bench_local_marts.py DEMO.duckdb --before DIR [--sites 200] [--repeat 2] [--workdir DIR]

DEMO.duckdb is a warehouse after `benefits run` on deploy/sites. `--sites N` derives N more trusts
from its three acute trusts (RF4, RJ1, RRK): each a sample of one of them (its patients' rows, about
--rows rows, as the national-run benchmark's simulated sites) under its own ODS code, with its batches and data-quality
results; `--sites 0` is the demo itself. Each build is `build_marts` in a child process on a fresh copy
of that warehouse, with the code of --before (e.g. a worktree of main) and of this checkout in turn;
then every local_<ods> and national table of the two is compared (bench/compare_marts.py), and this
checkout's first and last build (a rerun gives the same marts).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TEMPLATES = ("RF4", "RJ1", "RRK")
STAGING = ("inpatient_spells", "medication_administrations", "patient_safety_incidents")
# Rows are sampled by patient where there is one, so a patient's spells stay together (readmissions)
KEYS = {"inpatient_spells": "patient_ref", "medication_administrations": "patient_ref",
        "patient_safety_incidents": "incident_id"}


def site_code(i: int) -> str:
    return f"B{i:03d}"


def derive(demo: Path, out: Path, n: int, rows: int) -> Path:
    """A copy of the demo warehouse with n more trusts (cached by n and rows)."""
    marker = out.with_suffix(".json")
    want = {"demo": str(demo), "mtime": demo.stat().st_mtime, "n": n, "rows": rows, "keys": KEYS, "incidents": "all"}
    if out.exists() and marker.exists() and json.loads(marker.read_text()) == want:
        return out
    shutil.copy(demo, out)
    con = duckdb.connect(str(out))
    size = {t: sum(con.execute(f"select count(*) from staging.{d} where site_code = '{t}'").fetchone()[0]
                   for d in STAGING) for t in TEMPLATES}
    for i in range(n):
        code, template = site_code(i), TEMPLATES[i % len(TEMPLATES)]
        keep = max(1, round(size[template] / rows))  # every keep-th patient of the template
        suffix = f"'_{code}'"
        for d in STAGING:
            # Incidents whole (about 1,000 a trust): sampled, the incident rates are mostly counts of 1 to 7,
            # more than complementary suppression can protect ("cannot protect ... withheld entries").
            every = 1 if d == "patient_safety_incidents" else keep
            con.execute(
                f"insert into staging.{d} select * replace ('{code}' as site_code, '{code}' as _site, "
                f"_batch_id || {suffix} as _batch_id) from staging.{d} "
                f"where site_code = '{template}' and hash({KEYS[d]}) % {every} = 0"
            )
        con.execute(f"insert into meta.load_batch select * replace ('{code}' as site_code, batch_id || {suffix} as batch_id, "
                    f"superseded_by || {suffix} as superseded_by) from meta.load_batch where site_code = '{template}'")
        con.execute(f"insert into meta.dq_result select * replace ('{code}' as site_code, batch_id || {suffix} as batch_id) "
                    f"from meta.dq_result where site_code = '{template}'")
    con.close()
    marker.write_text(json.dumps(want))
    return out


CHILD = r"""
import json, sys, time
from pathlib import Path
from pipeline.config.sites import SiteConfig, load_sites
from pipeline.marts.build import build_marts, write_sites
from pipeline.warehouse.core import Warehouse

url, n = sys.argv[1], int(sys.argv[2])
sites = list(load_sites(Path(sys.argv[3])))
regions = ["London", "Midlands", "North East and Yorkshire", "South West"]
sites += [SiteConfig(ods_code=f"B{i:03d}", name=f"Bench trust {i}", trust_type="acute", region=regions[i % 4],
                     role="trust") for i in range(n)]
wh = Warehouse(url)
write_sites(wh, sites)
t = time.perf_counter()
built = build_marts(wh, sites, suppression_threshold=7)
seconds = time.perf_counter() - t
wh.dispose()
print(json.dumps({"seconds": seconds, "models": len(built), "trusts": sum(s.role == "trust" for s in sites)}))
"""


def build(code_dir: Path, url: str, n: int, sites_dir: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    out = subprocess.run([sys.executable, "-c", CHILD, url, str(n), str(sites_dir)],
                         cwd=code_dir, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"build with {code_dir} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


class Postgres:
    """The derived warehouse loaded once into a PostgreSQL database, and a copy of it (CREATE DATABASE
    ... TEMPLATE) for each side; every database is named wt16_lm_* and dropped at the end."""

    def __init__(self, admin_url: str, n: int):
        import sqlalchemy as sa

        self.sa, self.n = sa, n
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.url = sa.engine.make_url(admin_url)
        self.names: list[str] = []

    def _create(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as c:
            c.execute(self.sa.text(f'drop database if exists "{name}" with (force)'))
            c.execute(self.sa.text(f'create database "{name}"' + (f' template "{template}"' if template else "")))
        self.names.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def base(self, duck_file: Path, sites_dir: Path) -> None:
        from pipeline.config.sites import load_sites
        from pipeline.runtime import prepare_warehouse
        from pipeline.warehouse.core import Warehouse
        from tests.pipeline.marts.conftest import clone_loaded_data

        self.template = f"wt16_lm_base_{self.n}"
        url = self._create(self.template)
        src, dst = Warehouse(f"duckdb:///{duck_file}"), Warehouse(url)
        try:
            prepare_warehouse(dst, list(load_sites(sites_dir)))
            clone_loaded_data(src, dst)
        finally:
            src.dispose()
            dst.dispose()

    def copy(self, side: str) -> str:
        return self._create(f"wt16_lm_{side}", self.template)

    def drop(self) -> None:
        with self.admin.connect() as c:
            for name in self.names:
                c.execute(self.sa.text(f'drop database if exists "{name}" with (force)'))
        self.admin.dispose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("demo", type=Path)
    p.add_argument("--before", type=Path, required=True, help="checkout of the code to compare against")
    p.add_argument("--sites", type=int, default=200, help="trusts derived from the demo's (0: the demo alone)")
    p.add_argument("--rows", type=int, default=30_000, help="staging rows per derived trust")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/bench-local-marts"))
    p.add_argument("--postgres", nargs="?", const="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                   help="build on PostgreSQL (admin URL; databases wt16_lm_*, dropped after) instead of DuckDB")
    args = p.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    base = derive(args.demo.resolve(), args.workdir / f"sites-{args.sites}.duckdb", args.sites, args.rows)
    sites_dir = ROOT / "deploy" / "sites"
    pg = Postgres(args.postgres, args.sites) if args.postgres else None
    try:
        if pg:
            pg.base(base, sites_dir)
        return _rounds(args, base, sites_dir, pg)
    finally:
        if pg:
            pg.drop()


def _rounds(args, base: Path, sites_dir: Path, pg: Postgres | None) -> int:
    from compare_marts import compare, engine  # (bench/ is on sys.path when run as a script)

    times: dict[str, list[float]] = {"before": [], "after": []}
    models: dict[str, int] = {}
    urls, firsts = {}, {}
    for i in range(args.repeat):
        for side, code in (("before", args.before.resolve()), ("after", ROOT)):
            if i == 0:
                if pg:
                    urls[side] = pg.copy(side)
                else:
                    shutil.copy(base, args.workdir / f"{side}.duckdb")
                    urls[side] = f"duckdb:///{args.workdir / f'{side}.duckdb'}"
            result = build(code, urls[side], args.sites, sites_dir)
            times[side].append(result["seconds"])
            models[side] = result["models"]
            print(f"round {i + 1} {side}: {result['seconds']:.1f} s, {result['models']} models, "
                  f"{result['trusts']} local marts", flush=True)
            if i == 0 and not pg:
                shutil.copy(args.workdir / f"{side}.duckdb", args.workdir / f"{side}-first.duckdb")
                firsts[side] = str(args.workdir / f"{side}-first.duckdb")
            elif i == 0:
                firsts[side] = None
            if pg and i == 0 and side == "after" and args.repeat > 1:
                from tests.support.warehouse import mart_checksums

                firsts["after"] = mart_checksums(engine(urls["after"]))

    def target(side: str) -> str:
        return urls[side] if pg else urls[side].removeprefix("duckdb:///")

    same = not compare(engine(target("before")), engine(target("after")))
    if pg:
        from tests.support.warehouse import mart_checksums

        same_rerun = {"after": args.repeat < 2 or mart_checksums(engine(urls["after"])) == firsts["after"]}
    else:
        same_rerun = {"after": not compare(engine(firsts["after"]), engine(target("after")))}
    b, a = statistics.median(times["before"]), statistics.median(times["after"])
    print(json.dumps({"engine": "postgresql" if pg else "duckdb", "sites": args.sites, "before_s": round(b, 1), "after_s": round(a, 1), "speedup": round(b / a, 2),
                      "models": models, "identical_before_after": same, "identical_on_rerun": same_rerun,
                      "load_average": os.getloadavg()}))
    return 0 if same and all(same_rerun.values()) else 1


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    print(f"bench took {time.perf_counter() - t0:.0f} s")
    sys.exit(code)
