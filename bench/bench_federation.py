"""Benchmark federated national reporting: what the national side costs, and what it does not depend on.

Phases (each timed national step runs in a child process, with its start-up, peak RSS its own):
1. packages: a few simulated trusts (`--real-sites`, 25 months each) run the pipeline on their own
   DuckDB warehouses; their packages for months 1-24 and for month 25 are then cloned, re-signed, to
   `--sites` trusts with codes of their own (a trust's package is a few hundred aggregate rows
   whatever its size, so clones cost the collector what real packages would);
2. collect: every package of months 1-24 into an empty national warehouse (DuckDB, then PostgreSQL),
   then the national marts; then one more month (each trust's month-25 package) on top;
3. volume: one trust simulated at scale x and at 10x; the same number of cloned packages of each
   collected: the national cost should not move with record volume;
4. central: the same work done centrally, in the same run: every trust's records ingested into one
   warehouse, its marts and benefits (`--central-sites` simulated trusts; bench_national_run.py's
   no-Prefect baseline), the route federated reporting replaces.

Run `python bench/bench_federation.py` (200 trusts; about 20 minutes on 2 cores, most of it the central
phase), or `--sites 20 --central-sites 6` to check it quickly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import python, run_measured, write_section  # noqa: E402

TEMPLATES = ("RF4", "RJ1", "RRK")
SPEC = {"scale": 0.002, "start": "2016-04", "end": "2018-04"}  # 25 months
FIRST, LAST, MORE = dt.date(2016, 4, 1), dt.date(2018, 3, 1), dt.date(2018, 4, 1)
REGIONS = ("London", "South East", "South West", "Midlands", "East of England", "North West", "North East and Yorkshire")
THRESHOLD = 7


def _settings(home: Path, url: str):
    from pipeline.config.settings import Settings

    return Settings(home=home, warehouse_url=url, suppression_threshold=THRESHOLD)


def own_warehouse(sites_dir: Path, home: Path):
    """One trust's own run without Prefect: ingest, marts, benefits (what `benefits run` does)."""
    from pipeline.ingest.source import ingest_source
    from pipeline.marts.build import build_marts
    from pipeline.marts.realise import realise
    from pipeline.runtime import get_sites, prepare_warehouse, validator
    from pipeline.warehouse.core import Warehouse

    home.mkdir(parents=True, exist_ok=True)
    url = f"duckdb:///{home / 'benefits.duckdb'}"
    settings, wh, sites = _settings(home, url), Warehouse(url), get_sites(sites_dir)
    prepare_warehouse(wh, sites)
    for site in sites:
        for source in site.sources:
            ingest_source(wh, site, source, settings=settings, validator=validator(wh))
    build_marts(wh, sites, suppression_threshold=THRESHOLD)
    realise(wh, sites)
    return wh, sites


def site_packages(workdir: Path, name: str, template: str, seed: int, scale: float) -> dict:
    """A simulated trust's package tables for months 1-24 and for month 25, and its record count."""
    from tests.flows.sites import derived_site

    from pipeline.federation.site_tables import build_tables

    sim, sites = workdir / "simulated", workdir / f"sites-{name}"
    shutil.rmtree(sites, ignore_errors=True)
    derived_site(template, name, sim, sites, seed=seed, **{**SPEC, "scale": scale})
    wh, _ = own_warehouse(sites, workdir / f"home-{name}")
    rows = int(wh.query("select sum(rows_in) as n from meta.load_batch")["n"][0])
    out = {"rows": rows, "base": build_tables(wh, name, FIRST, LAST), "more": build_tables(wh, name, MORE, MORE)}
    wh.dispose()
    return out


def clone(tables: dict, code: str) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {}
    for kind, t in tables.items():
        i = t.schema.get_field_index("site_code")
        out[kind] = t.set_column(i, "site_code", pc.cast(pa.array([code] * t.num_rows, pa.string()), pa.string()))
    return out


def write_exchange(root: Path, sources: list[dict], n: int, part: str, registry: Path) -> Path:
    """`n` trusts' packages (`part`: base or more), cycling over `sources`, into root/inbox."""
    from pipeline.federation.keys import init_key, load_private
    from pipeline.federation.submit import manifest_fields, write_package

    shutil.rmtree(root, ignore_errors=True)
    registry.mkdir(parents=True, exist_ok=True)
    first, last = (FIRST, LAST) if part == "base" else (MORE, MORE)
    for i in range(n):
        code = f"F{i:03d}"
        keyhome = registry.parent / "keyhome"
        if not (keyhome / "keys" / f"{code}.key").exists():
            init_key(keyhome, code)
            shutil.copy(keyhome / "keys" / f"{code}.pub", registry / f"{code}.pub")
        site = SimpleNamespace(ods_code=code, name=f"Trust {code}", region=REGIONS[i % len(REGIONS)], trust_type="acute")
        fields = manifest_fields(site, first, last, THRESHOLD)
        write_package(str(root), code, clone(sources[i % len(sources)][part], code), fields, load_private(keyhome, code))
    return root


# -- children ----------------------------------------------------------------------------------


def child_collect(exchange: str, registry: str, url: str) -> None:
    from pipeline.federation.collect import build_national_marts, collect
    from pipeline.federation.keys import load_registry
    from pipeline.warehouse.core import Warehouse

    wh = Warehouse(url)
    t = time.perf_counter()
    result = collect(exchange, wh, load_registry(Path(registry)), threshold=THRESHOLD, today=dt.date(2018, 6, 1))
    collected = time.perf_counter() - t
    t = time.perf_counter()
    built = build_national_marts(wh, THRESHOLD)
    marts = time.perf_counter() - t
    rows = int(wh.query("select count(*) as n from national.fact_measure_monthly")["n"][0])
    print(json.dumps({"collect": collected, "marts": marts, "accepted": result.count("accepted"),
                      "rejected": result.count("rejected"), "tables": len(built), "fact_rows": rows}))  # fmt: skip


def child_central(sites_dir: str, url: str) -> None:
    from bench_national_run import child_baseline

    os.environ["BENEFITS_WAREHOUSE_URL"] = url
    child_baseline(sites_dir)


def run_child(args: list[str], env: dict | None = None) -> tuple[dict, float, float]:
    seconds, rss, out = run_measured([python(), __file__, "--child", *args], env=env)
    return json.loads(out.strip().splitlines()[-1]), seconds, rss


# -- phases --------------------------------------------------------------------------------------


def _copy(src: Path, dst: Path) -> str:
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    return str(dst)


def collect_phase(work: Path, base: Path, more: Path, registry: Path, url: str, tag: str) -> dict:
    exchange = work / f"exchange-{tag}"
    _copy(base, exchange)
    first, s1, rss1 = run_child(["collect", str(exchange), str(registry), url])
    shutil.copytree(more / "inbox", exchange / "inbox", dirs_exist_ok=True)
    second, s2, rss2 = run_child(["collect", str(exchange), str(registry), url])
    return {"first": first, "first_wall": s1, "first_rss": rss1, "more": second, "more_wall": s2, "more_rss": rss2}


def measure(args) -> dict:
    from bench_national_run import Databases, make_sites

    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    r: dict = {"sites": args.sites, "real_sites": args.real_sites, "central_sites": args.central_sites}
    t = time.perf_counter()
    real = [site_packages(work, f"R{i:02d}", TEMPLATES[i % 3], 7000 + i, SPEC["scale"]) for i in range(args.real_sites)]
    r["package_seconds"] = time.perf_counter() - t
    r["real_rows"] = [p["rows"] for p in real]
    r["package_rows"] = sum(table.num_rows for table in real[0]["base"].values())  # one trust's 24 months
    registry = work / "registry"
    shutil.rmtree(registry, ignore_errors=True)
    shutil.rmtree(work / "keyhome", ignore_errors=True)
    base = write_exchange(work / "base", real, args.sites, "base", registry)
    more = write_exchange(work / "more", real, args.sites, "more", registry)
    r["exchange_bytes"] = sum(f.stat().st_size for f in (base / "inbox").rglob("*") if f.is_file())

    dbs = Databases()
    try:
        r["duckdb"] = collect_phase(work, base, more, registry, f"duckdb:///{work / 'collector.duckdb'}", "duckdb")
        (work / "collector.duckdb").unlink(missing_ok=True)
        r["postgresql"] = collect_phase(work, base, more, registry, dbs.new("bench_fed"), "pg")

        low = site_packages(work, "VLOW", "RF4", 9100, SPEC["scale"])
        high = site_packages(work, "VHIGH", "RF4", 9100, SPEC["scale"] * 10)
        r["volume"] = {"rows": [low["rows"], high["rows"]]}
        exchanges = {}
        for tag, src in (("low", low), ("high", high)):
            exchanges[tag] = write_exchange(work / f"vol-{tag}", [src], args.sites, "base", registry)
            r["volume"][tag + "_bytes"] = sum(f.stat().st_size for f in (exchanges[tag] / "inbox").rglob("*") if f.is_file())
            r["volume"][tag] = []
        # Interleaved, so that a drift in the machine's load falls on both sizes alike.
        for _ in range(args.repeat):
            for tag in ("low", "high"):
                (work / f"vol-{tag}.duckdb").unlink(missing_ok=True)
                out, wall, rss = run_child(["collect", _copy(exchanges[tag], work / f"vol-{tag}-x"), str(registry),
                                            f"duckdb:///{work / f'vol-{tag}.duckdb'}"])  # fmt: skip
                r["volume"][tag].append({**out, "wall": wall, "rss": rss})

        if args.central_sites:
            from bench_national_run import SPEC as CENTRAL_SPEC

            sites = make_sites(work / "central", args.central_sites)
            start, end = (dt.date.fromisoformat(CENTRAL_SPEC[k] + "-01") for k in ("start", "end"))
            r["central_months"] = (end.year - start.year) * 12 + end.month - start.month + 1
            out, wall, rss = run_child(["central", str(sites), dbs.new("bench_central")],
                                       env={"BENEFITS_HOME": str(work / "central-home")})
            r["central"] = {**out, "wall_child": wall, "rss": rss}
    finally:
        dbs.drop_all()
    return r


def render(r: dict) -> str:
    d, p = r["duckdb"], r["postgresql"]

    def nat(x: dict) -> float:
        return x["collect"] + x["marts"]

    lines = [
        "## Federated national reporting: the collector (`bench/bench_federation.py`)",
        "",
        f"{r['sites']} trusts' packages of 24 months each (cloned, re-signed, from {r['real_sites']} simulated trusts "
        f"that ran the pipeline on their own warehouses: {min(r['real_rows']):,}-{max(r['real_rows']):,} records each), "
        f"{r['exchange_bytes'] / 1e6:.1f} MB in the inbox, collected into an empty national warehouse; then each trust's "
        "next month on top. Seconds measured inside the child process (collect: verify, merge, receipts, completeness "
        "board; marts: the national mart from what was collected); wall and peak RSS of the whole child.",
        "",
        "| warehouse | step | accepted | collect s | national marts s | collect + marts s | wall s | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, x in (("DuckDB", d), ("PostgreSQL", p)):
        for step, key in (("24 months, empty warehouse", "first"), ("one more month", "more")):
            o = x[key]
            lines.append(f"| {name} | {step} | {o['accepted']} | {o['collect']:.1f} | {o['marts']:.1f} | {nat(o):.1f} | "
                         f"{x[key + '_wall']:.1f} | {x[key + '_rss']:.0f} |")  # fmt: skip
    goal = max(nat(d["first"]), nat(p["first"]))
    lines += ["", f"Goal: {r['sites']} trusts collected plus national marts under 60 s: "
              f"{'met' if goal < 60 else '**not met**'} ({goal:.1f} s at worst)."]  # fmt: skip
    v = r["volume"]
    lo = sorted(nat(x) for x in v["low"])
    hi = sorted(nat(x) for x in v["high"])
    mid = lambda xs: xs[len(xs) // 2]  # noqa: E731
    lines += [
        "",
        f"**National cost does not follow record volume.** One trust simulated at scale x ({v['rows'][0]:,} records) and "
        f"10x ({v['rows'][1]:,}); {r['sites']} cloned packages of each collected into an empty DuckDB warehouse, "
        f"{len(lo)} times each:",
        "",
        "| trust size | records | inbox MB | collect + marts s (median; all runs) |",
        "|---|---:|---:|---|",
        f"| x | {v['rows'][0]:,} | {v['low_bytes'] / 1e6:.2f} | {mid(lo):.1f}; {', '.join(f'{s:.1f}' for s in lo)} |",
        f"| 10x | {v['rows'][1]:,} | {v['high_bytes'] / 1e6:.2f} | {mid(hi):.1f}; {', '.join(f'{s:.1f}' for s in hi)} |",
        "",
        f"Ratio 10x / x: {mid(hi) / mid(lo):.2f} (records {v['rows'][1] / v['rows'][0]:.1f}x).",
    ]
    c = r.get("central")
    if c:
        per_site = c["wall"] / r["central_sites"]
        lines += [
            "",
            f"**Against central mode, in the same run:** {r['central_sites']} simulated trusts' records "
            f"({r.get('central_months', 18)} months) "
            f"({c['rows']:,} rows, {c['batches']} batches) ingested into one PostgreSQL warehouse, then its marts "
            f"({c['models']} models) and benefits, took {c['wall']:.1f} s (ingest {c['ingest']:.1f}, marts "
            f"{c['marts']:.1f}, benefits {c['benefits']:.1f}), {per_site:.2f} s per trust, peak RSS {c['rss']:.0f} MB. "
            f"The federated collector's national work for {r['sites']} trusts on PostgreSQL: {nat(p['first']):.1f} s "
            f"({nat(p['first']) / r['sites']:.3f} s per trust, {per_site / (nat(p['first']) / r['sites']):.0f}x less per "
            "trust); each trust's own run happens in its own warehouse, in parallel, and is not national work.",
        ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--real-sites", type=int, default=6)
    ap.add_argument("--central-sites", type=int, default=200, help="0 to skip the central comparison")
    ap.add_argument("--repeat", type=int, default=5, help="collects per volume variant")
    ap.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "bench_federation")
    ap.add_argument("--report-only", action="store_true", help="re-render docs from the last results.json")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "collect":
        child_collect(*args.rest)
        return
    if args.child == "central":
        child_central(*args.rest)
        return
    results = args.workdir / "results.json"
    if args.report_only:
        r = json.loads(results.read_text())
    else:
        r = measure(args)
        args.workdir.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(r, indent=2, default=str))
    text = render(r)
    write_section("federation", text)
    sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
