"""The national collector: check every complete package in `<url>/inbox/` and merge the good ones.

Per package, oldest first: check (`verify.check_package`), then in one transaction move the
site's rows for the package's months to `collected.<kind>_history`, add the package's rows to
`collected.<kind>` and record the decision in `meta.submission`; then move the folder to
`accepted/` or `rejected/` and write `receipts/<package>.json`. A package name is collected
once: seen again, it is rejected as a duplicate and the warehouse is left exactly as it was.

Only the aggregate kinds of `package.KINDS` ever reach the warehouse: the schema check rejects
any other column, so no record-level row or patient identifier can arrive through a package.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import posixpath
from dataclasses import dataclass, field

import fsspec
import pandas as pd
import sqlalchemy as sa

from pipeline.federation import completeness
from pipeline.federation.package import ACCEPTED, INBOX, KINDS, RECEIPTS, REJECTED, SIGNATURE, Receipt, parse_name
from pipeline.federation.verify import KEYS, PERIOD, Checked, check_package, month_start
from pipeline.warehouse.core import Warehouse, ident

log = logging.getLogger(__name__)

SCHEMA = "collected"
# The rows a newer package replaces, besides those dated within its months: rows with the same
# key, and for an SPC chart every point of a benefit it charts again (limits move with each month).
REPLACE_KEYS = {**KEYS, "benefit_spc": ("benefit_id",)}
# Kinds a package states whole up to its last month: the unplanned-change scan is rerun on the
# site's whole series, so its signals starting by `last` replace all the site's earlier ones.
WHOLE_TO_LAST = {"unplanned"}
SUBMISSION = {
    "package": "varchar",
    "site_code": "varchar",
    "first_month": "date",
    "last_month": "date",
    "created_at": "timestamp",
    "received_at": "timestamp",
    "status": "varchar",  # accepted | rejected
    "reasons": "varchar",  # one reason per line; empty when accepted
    "replaced_by": "varchar",  # the later package that replaced some of this one's rows
}


# Each site's name, region and trust type as its latest accepted manifest states them: the
# national directory (dim_site, region and trust-type totals) is built from these.
SITE = {"site_code": "varchar", "site_name": "varchar", "region": "varchar", "trust_type": "varchar",
        "package": "varchar"}  # fmt: skip


@dataclass
class Outcome:
    package: str
    status: str  # accepted | rejected | failed (a warehouse or storage error: left in the inbox to retry)
    reasons: list[str] = field(default_factory=list)
    site_code: str | None = None
    replaces: list[str] = field(default_factory=list)


@dataclass
class CollectResult:
    packages: list[Outcome] = field(default_factory=list)
    board_rows: int = 0

    def count(self, status: str) -> int:
        return sum(1 for p in self.packages if p.status == status)


def collect(url: str, wh: Warehouse, registry: dict, *, threshold: int, today: dt.date | None = None,
            deadline_day: int = 15) -> CollectResult:
    """Collect every complete package under `url` (a local folder or any fsspec URL, e.g. s3://)."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    ensure_tables(wh)
    result = CollectResult()
    for folder in complete_packages(fs, root):
        result.packages.append(_collect_one(fs, root, folder, wh, registry, threshold, today))
    result.board_rows = completeness.build(wh, sorted(registry), today=today, deadline_day=deadline_day)
    return result


def complete_packages(fs, root: str) -> list[str]:
    """Package folders in the inbox that have their signature (written last), oldest first."""
    fs.invalidate_cache()
    inbox = f"{root}/{INBOX}"
    if not fs.exists(inbox):
        return []
    folders = [e["name"].rstrip("/") for e in fs.ls(inbox, detail=True) if e.get("type") == "directory"]
    complete = [f for f in folders if fs.exists(f"{f}/{SIGNATURE}")]

    def order(folder: str) -> tuple[str, str]:
        name = posixpath.basename(folder)
        parsed = parse_name(name)
        return (parsed.created if parsed else "", name)

    return sorted(complete, key=order)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def _collect_one(fs, root: str, folder: str, wh: Warehouse, registry, threshold: int, today: dt.date) -> Outcome:
    name = posixpath.basename(folder)
    received = _now()
    try:
        earlier = wh.scalar("select min(received_at) from meta.submission where package = :p and status = 'accepted'",
                            {"p": name})  # fmt: skip
        if earlier is not None:
            # The accepted receipt stays as it was: the site's data is in, once.
            reason = f"package {name} was already collected on {earlier:%Y-%m-%d %H:%M} UTC; a package is collected once"
            _move(fs, folder, f"{root}/{REJECTED}/{name}", received)
            parsed = parse_name(name)
            return Outcome(name, "rejected", [reason], parsed.site if parsed else None)
        checked = check_package(fs, folder, registry, threshold=threshold, today=today)
        if checked.ok:
            _check_not_superseded(wh, checked)
        replaces = _merge(wh, checked, received) if checked.ok else _record_rejection(wh, checked, received)
        status = "accepted" if checked.ok else "rejected"
        site = checked.manifest.site_code if checked.manifest else _name_site(name)
        receipt = Receipt(
            package=name, site_code=site, status=status, reasons=checked.reasons,
            received_at=received.isoformat() + "Z", replaces=replaces, data_quality=dq_feedback(checked),
        )  # fmt: skip
        # The receipt before the move: if the move fails after the merge committed, the site still
        # learns its package was accepted (and the next run finds the folder again as a duplicate).
        fs.makedirs(f"{root}/{RECEIPTS}", exist_ok=True)
        fs.pipe_file(f"{root}/{RECEIPTS}/{name}.json", (receipt.model_dump_json(indent=2) + "\n").encode("utf-8"))
        _move(fs, folder, f"{root}/{ACCEPTED if checked.ok else REJECTED}/{name}", received)
        return Outcome(name, status, checked.reasons, site, replaces)
    except Exception as exc:  # noqa: BLE001  (one package's failure must not stop the others)
        log.exception("package %s could not be collected", name)
        first = (str(exc).strip().splitlines() or [""])[0]
        return Outcome(name, "failed", [f"not collected, left in the inbox: {type(exc).__name__}: {first}"],
                       _name_site(name))  # fmt: skip


def _name_site(name: str) -> str | None:
    parsed = parse_name(name)
    return parsed.site if parsed else None


def _move(fs, source: str, target: str, received: dt.datetime) -> None:
    if fs.exists(target):  # a name rejected before, or a duplicate: keep both
        target = f"{target}.{received:%Y%m%dT%H%M%SZ}"
    # File by file: object stores have no folders to rename (s3fs cannot move a prefix as one).
    # The signature goes first, so a move cut short leaves an incomplete package in the inbox,
    # which the collector leaves alone, rather than a complete-looking one with files missing.
    files = sorted(fs.find(source), key=lambda f: posixpath.basename(f) != SIGNATURE)
    for f in files:
        dest = f"{target}/{posixpath.relpath(f, source)}"
        fs.makedirs(posixpath.dirname(dest), exist_ok=True)
        fs.mv(f, dest)
    if fs.exists(source):
        fs.rm(source, recursive=True)


# -- the warehouse -------------------------------------------------------------------------
def ensure_tables(wh: Warehouse) -> None:
    with wh.begin() as conn:
        for schema in (SCHEMA, "meta", "national"):
            conn.execute(sa.text(f"create schema if not exists {schema}"))
        for kind in KINDS.values():
            cols = {**kind.columns, "package": "varchar"}
            conn.execute(sa.text(f"create table if not exists {SCHEMA}.{kind.name} ({wh.columns_ddl(cols)})"))
            history = {**cols, "replaced_by": "varchar"}
            conn.execute(sa.text(f"create table if not exists {SCHEMA}.{kind.name}_history ({wh.columns_ddl(history)})"))
            # Each merge replaces one site's rows: without this index every package scans every site's.
            conn.execute(sa.text(f"create index if not exists {kind.name}_site on {SCHEMA}.{kind.name} (site_code)"))
        conn.execute(sa.text(f"create table if not exists meta.submission ({wh.columns_ddl(SUBMISSION)})"))
        conn.execute(sa.text(f"create table if not exists {SCHEMA}.site ({wh.columns_ddl(SITE)})"))


def _months(checked: Checked) -> tuple[dt.date | None, dt.date | None]:
    m = checked.manifest
    parsed = parse_name(checked.name)
    first, last = (m.first_month, m.last_month) if m else ((parsed.first, parsed.last) if parsed else (None, None))
    try:
        return (month_start(first), month_start(last)) if first else (None, None)
    except ValueError:
        return None, None


def _created(checked: Checked) -> dt.datetime | None:
    parsed = parse_name(checked.name)
    if checked.manifest is not None:
        try:
            created = dt.datetime.fromisoformat(checked.manifest.created_at.replace("Z", "+00:00"))
            return created.astimezone(dt.timezone.utc).replace(tzinfo=None) if created.tzinfo else created
        except ValueError:
            pass
    if parsed:
        return dt.datetime.strptime(parsed.created, "%Y%m%dT%H%M%SZ")
    return None


def _submission_row(conn, checked: Checked, status: str, received: dt.datetime) -> None:
    first, last = _months(checked)
    row = {
        "package": checked.name,
        "site_code": checked.manifest.site_code if checked.manifest else _name_site(checked.name),
        "first_month": first, "last_month": last, "created_at": _created(checked), "received_at": received,
        "status": status, "reasons": "\n".join(checked.reasons), "replaced_by": None,
    }  # fmt: skip
    cols = ", ".join(SUBMISSION)
    conn.execute(sa.text(f"insert into meta.submission ({cols}) values ({', '.join(':' + c for c in SUBMISSION)})"), row)


def _check_not_superseded(wh: Warehouse, checked: Checked) -> None:
    """A package created before one already collected for the same site and months arrived late
    (a delayed upload): merging it would put older figures over newer ones."""
    first, last = _months(checked)
    newer = wh.query(
        "select package from meta.submission where status = 'accepted' and site_code = :s and first_month <= :l "
        "and last_month >= :f and created_at > :c order by created_at",
        {"s": checked.manifest.site_code, "f": first, "l": last, "c": _created(checked)},
    )["package"].tolist()
    if newer:
        checked.reasons.append(f"package {newer[-1]}, created later, was already collected for these months; "
                               "submit again to replace it")  # fmt: skip
        checked.tables = {}


def _record_rejection(wh: Warehouse, checked: Checked, received: dt.datetime) -> list[str]:
    with wh.begin() as conn:
        _submission_row(conn, checked, "rejected", received)
    return []


def _merge(wh: Warehouse, checked: Checked, received: dt.datetime) -> list[str]:
    """Merge an accepted package in one transaction; returns the earlier packages it replaced rows of."""
    m = checked.manifest
    first, last = month_start(m.first_month), month_start(m.last_month)
    params = {"site": m.site_code, "first": first, "last": last, "package": checked.name}
    replaced: set[str] = set()
    with wh.begin() as conn:
        for kind in KINDS.values():
            target, history, scratch = f"{SCHEMA}.{kind.name}", f"{SCHEMA}.{kind.name}_history", f"{SCHEMA}.incoming_{kind.name}"
            table = checked.tables.get(kind.name)
            frame = table.to_pandas() if table is not None else pd.DataFrame(columns=list(kind.columns))
            # Every kind, even one the package does not list: the newer package is the whole truth
            # for its months, so an older row it no longer carries must not linger.
            wh.replace_table(conn, scratch, frame, kind.columns)
            # A row-value IN over the small incoming table, not a correlated EXISTS: PostgreSQL hashes
            # it once, where EXISTS ran per row of the growing collected table (one more month for
            # 200 trusts took 194 s against 40 s for their first 24 months).
            key = ", ".join(ident(c) for c in REPLACE_KEYS[kind.name])
            dated = ("<= :last" if kind.name in WHOLE_TO_LAST else "between :first and :last")
            where = (f"o.site_code = :site and (o.{ident(PERIOD[kind.name])} {dated} "
                     f"or ({', '.join('o.' + ident(c) for c in REPLACE_KEYS[kind.name])}) in "
                     f"(select {key} from {scratch}))")  # fmt: skip
            cols = ", ".join(ident(c) for c in kind.columns)
            replaced.update(r[0] for r in conn.execute(sa.text(f"select distinct o.package from {target} o where {where}"),
                                                       params))  # fmt: skip
            conn.execute(sa.text(f"insert into {history} ({cols}, package, replaced_by) "
                                 f"select {cols}, package, :package from {target} o where {where}"), params)  # fmt: skip
            conn.execute(sa.text(f"delete from {target} as o where {where}"), params)
            conn.execute(sa.text(f"insert into {target} ({cols}, package) select {cols}, :package from {scratch}"), params)
            conn.execute(sa.text(f"drop table {scratch}"))
        if replaced:
            conn.execute(sa.text("update meta.submission set replaced_by = :package where status = 'accepted' "
                                 "and package in :names").bindparams(sa.bindparam("names", expanding=True)),
                         {"package": checked.name, "names": sorted(replaced)})  # fmt: skip
        conn.execute(sa.text(f"delete from {SCHEMA}.site where site_code = :site"), params)
        conn.execute(
            sa.text(f"insert into {SCHEMA}.site ({', '.join(SITE)}) values (:site, :name, :region, :trust_type, :package)"),
            {**params, "name": m.site.name, "region": m.site.region, "trust_type": m.site.trust_type},
        )
        _submission_row(conn, checked, "accepted", received)
    return sorted(replaced)


def dq_feedback(checked: Checked) -> list[dict]:
    """Per dataset, what the site's own data-quality summary says, for its receipt: months,
    rows in, loaded and quarantined, and the rule and month with the lowest pass rate."""
    rows, rules = checked.tables.get("dq_rows"), checked.tables.get("dq_rules")
    if rows is None and rules is None:
        return []
    rows = rows.to_pandas() if rows is not None else pd.DataFrame(columns=["dataset"])
    rules = rules.to_pandas() if rules is not None else pd.DataFrame(columns=["dataset"])
    out = []
    for dataset in sorted(set(rows["dataset"]) | set(rules["dataset"])):
        r, q = rows[rows["dataset"] == dataset], rules[rules["dataset"] == dataset]
        entry = {
            "dataset": dataset,
            "months": int(r["month"].nunique()) if len(r) else 0,
            "rows_in": int(r["rows_in"].sum()) if len(r) else 0,
            "rows_loaded": int(r["rows_loaded"].sum()) if len(r) else 0,
            "rows_quarantined": int(r["rows_quarantined"].sum()) if len(r) else 0,
            "lowest_pass_rate": None, "lowest_rule": None, "lowest_month": None,
        }  # fmt: skip
        rated = q.dropna(subset=["pass_rate"]) if len(q) else q
        if len(rated):
            worst = rated.sort_values(["pass_rate", "month", "rule"]).iloc[0]
            entry.update(lowest_pass_rate=round(float(worst["pass_rate"]), 4), lowest_rule=str(worst["rule"]),
                         lowest_month=pd.Timestamp(worst["month"]).strftime("%Y-%m"))  # fmt: skip
        out.append(json.loads(json.dumps(entry)))
    return out


def build_national_marts(wh: Warehouse, threshold: int) -> list[str]:
    """Rebuild the national marts from everything collected so far (nothing before the first package)."""
    from pipeline.federation.national import build_national

    if wh.query(f"select count(*) as n from {SCHEMA}.site")["n"][0] == 0:
        return []
    return build_national(wh, threshold)
