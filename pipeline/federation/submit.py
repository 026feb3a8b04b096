"""A trust's side of federated reporting: write its package, signed, through fsspec, and read
its receipts. The tables come from `site_tables` (what leaves the trust, and for which months).

The destination is a URL fsspec understands: a local folder (the default), or `s3://bucket/prefix`
with the standard AWS_* variables (s3fs reads them; nothing here logs them).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from dataclasses import dataclass
from importlib import metadata

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config.sites import SiteConfig
from pipeline.federation import package as pkg
from pipeline.federation.keys import sign
from pipeline.federation.site_tables import (  # noqa: F401  (build_tables, parse_month: part of this module's API)
    SubmitError,
    build_tables,
    parse_month,
    resolve_months,
)
from pipeline.federation.versions import contract_versions, measure_versions
from pipeline.warehouse.core import Warehouse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    name: str
    url: str  # the package folder
    manifest: pkg.Manifest


DISTRIBUTION = "nhs-benefits-pipeline"


def software_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a checkout run without installing it
        return "0+unknown"


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def manifest_fields(site: SiteConfig, first: dt.date, last: dt.date, threshold: int) -> dict:
    """Everything in the manifest except its files and creation time."""
    return {
        "site_code": site.ods_code,
        "first_month": f"{first:%Y-%m}",
        "last_month": f"{last:%Y-%m}",
        "software_version": software_version(),
        "suppression_threshold": int(threshold),
        "contract_versions": contract_versions(),
        "measure_versions": measure_versions(),
        "site": pkg.SiteInfo(name=site.name, region=site.region, trust_type=site.trust_type),
    }


def shown(url: str) -> str:
    """The URL as it may be printed: without a user or password written into it."""
    return re.sub(r"^([a-z0-9+]+://)[^/@]*@", r"\1", url)


def _join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def write_package(url: str, site: str, tables: dict[str, pa.Table], manifest_fields: dict, private_key,
                  *, now: dt.datetime | None = None) -> str:  # fmt: skip
    """Write the package into `<url>/inbox/<name>/` and return its name: the Parquet files, then
    manifest.json, then manifest.sig last, so a package without its signature is known unfinished."""
    missing = [k for k in pkg.KINDS if k not in tables]
    unknown = [k for k in tables if k not in pkg.KINDS]
    if missing or unknown:
        raise SubmitError(f"package of {site}: " + "; ".join(
            ([f"no table for {', '.join(missing)}"] if missing else [])
            + ([f"{', '.join(unknown)} not among the kinds ({', '.join(pkg.KINDS)})"] if unknown else [])))  # fmt: skip
    if manifest_fields.get("site_code", site) != site:
        raise SubmitError(f"manifest site_code {manifest_fields['site_code']!r} is not {site!r}")
    fs, root = fsspec.core.url_to_fs(url)
    created = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    inbox = _join(root, pkg.INBOX)
    # Two submissions within one second would share a name; the later one takes the next second.
    while True:
        name = pkg.package_name(site, manifest_fields["first_month"], manifest_fields["last_month"], created)
        folder = _join(inbox, name)
        if not fs.exists(folder):
            break
        created += dt.timedelta(seconds=1)
    fs.makedirs(folder, exist_ok=True)
    files = []
    for kind, spec in pkg.KINDS.items():
        table = tables[kind]
        if not table.schema.equals(spec.schema):
            raise SubmitError(f"{spec.file}: schema differs from the {kind} kind's; cast it with submit.to_kind")
        data = _parquet(table)
        fs.pipe_file(_join(folder, spec.file), data)
        files.append(pkg.FileEntry(name=spec.file, kind=kind, rows=table.num_rows, bytes=len(data), sha256=pkg.sha256(data)))
    manifest = pkg.Manifest(
        **{**manifest_fields, "site_code": site},
        created_at=created.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        files=files,
    )
    body = pkg.manifest_bytes(manifest)
    fs.pipe_file(_join(folder, pkg.MANIFEST), body)
    fs.pipe_file(_join(folder, pkg.SIGNATURE), sign(private_key, body))
    log.info("wrote package %s (%d files)", name, len(files))
    return name


def submit(wh: Warehouse, site: SiteConfig, url: str, private_key, *, threshold: int,
           first: dt.date | None = None, last: dt.date | None = None) -> Submitted:  # fmt: skip
    """Build the site's package from its warehouse and write it to `url`."""
    first, last = resolve_months(wh, site.ods_code, first, last)
    tables = build_tables(wh, site.ods_code, first, last)
    fields = manifest_fields(site, first, last, threshold)
    name = write_package(url, site.ods_code, tables, fields, private_key)
    manifest = read_manifest(url, name)
    return Submitted(name, _join(shown(url), pkg.INBOX, name), manifest)


def read_manifest(url: str, name: str, folder: str = pkg.INBOX) -> pkg.Manifest:
    fs, root = fsspec.core.url_to_fs(url)
    path = _join(root, folder, name, pkg.MANIFEST)
    try:
        return pkg.Manifest.model_validate_json(fs.cat_file(path))
    except FileNotFoundError:
        raise SubmitError(f"{path}: no manifest") from None


def receipts(url: str, site: str) -> list[pkg.Receipt]:
    """The collector's receipts for `site`'s packages, newest first. A receipt that cannot be read
    is logged with its file name and left out: one bad file must not hide the others."""
    fs, root = fsspec.core.url_to_fs(url)
    folder = _join(root, pkg.RECEIPTS)
    fs.invalidate_cache()  # object stores list from a cache; a receipt may have arrived since
    try:
        paths = fs.glob(_join(folder, f"{site}-*.json"))
    except FileNotFoundError:
        return []
    out = []
    for path in paths:
        parsed = pkg.parse_name(path.rsplit("/", 1)[-1].removesuffix(".json"))
        if parsed is None or parsed.site != site:
            continue
        try:
            receipt = pkg.Receipt.model_validate_json(fs.cat_file(path))
        except (ValueError, OSError) as exc:
            log.warning("%s: not a readable receipt (%s)", path, str(exc).splitlines()[0])
            continue
        out.append((parsed.sort_key, receipt.received_at, receipt))
    out.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [r for *_, r in out]
