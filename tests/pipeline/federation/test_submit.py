"""A site's package, built from a real warehouse and written to a folder, a memory filesystem and a
local S3 server: what it holds, that it verifies, that nothing withheld or of another site leaves,
and that the signature is written last."""

from __future__ import annotations

import datetime as dt
import io

import fsspec
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from pipeline.federation import package as pkg
from pipeline.federation.keys import load_private, load_registry, verify
from pipeline.federation.submit import SubmitError, build_tables, manifest_fields, receipts, submit, write_package
from pipeline.federation.versions import contract_versions, measure_versions
from tests.pipeline.federation.conftest import OTHER, SITE

IDENTIFIER_HINTS = ("patient", "nhs_number", "_ref", "mrn", "postcode", "date_of_birth", "dob")


def _open(url: str):
    fs, root = fsspec.core.url_to_fs(url)
    return fs, root.rstrip("/")


def read_package(url: str, name: str) -> tuple[pkg.Manifest, bytes, bytes, dict]:
    """(manifest, its bytes, signature, {file: bytes}) of a package in url/inbox/."""
    fs, root = _open(url)
    folder = f"{root}/{pkg.INBOX}/{name}"
    body = fs.cat_file(f"{folder}/{pkg.MANIFEST}")
    manifest = pkg.Manifest.model_validate_json(body)
    files = {f.name: fs.cat_file(f"{folder}/{f.name}") for f in manifest.files}
    return manifest, body, fs.cat_file(f"{folder}/{pkg.SIGNATURE}"), files


def check_package(url: str, name: str, home) -> tuple[pkg.Manifest, dict]:
    """Everything the collector will check that the site controls; returns the manifest and tables."""
    manifest, body, signature, files = read_package(url, name)
    assert body == pkg.manifest_bytes(manifest)
    assert verify(load_registry(home / "keys")[SITE], signature, body)
    assert {f.kind for f in manifest.files} == set(pkg.KINDS)
    tables = {}
    for entry in manifest.files:
        data = files[entry.name]
        assert pkg.safe_file_name(entry.name)
        assert (pkg.sha256(data), len(data)) == (entry.sha256, entry.bytes), entry.name
        table = pq.read_table(io.BytesIO(data))
        assert table.num_rows == entry.rows and table.schema.equals(pkg.KINDS[entry.kind].schema), entry.name
        tables[entry.kind] = table
    parsed = pkg.parse_name(name)
    assert (parsed.site, parsed.first, parsed.last) == (SITE, manifest.first_month, manifest.last_month)
    return manifest, tables


@pytest.fixture
def key(built):
    return load_private(built.home, SITE)


def test_package_to_a_folder_holds_the_sites_suppressed_national_rows_and_verifies(built, key, tmp_path):
    url = str(tmp_path / "exchange")
    done = submit(built.wh, built.site(SITE), url, key, threshold=built.settings.suppression_threshold)
    assert (tmp_path / "exchange" / "inbox" / done.name / "manifest.sig").is_file()
    manifest, tables = check_package(url, done.name, built.home)

    # Every month the site has, by default; versions as the collector computes them.
    months = built.wh.query(
        "select min(period_start) as f, max(period_start) as l from measures.disclosure_control "
        "where group_type = 'site' and period_type = 'month' and group_code = :s", {"s": SITE}
    ).iloc[0]
    assert (manifest.first_month, manifest.last_month) == (f"{months['f']:%Y-%m}", f"{months['l']:%Y-%m}")
    assert manifest.contract_versions == contract_versions() and manifest.measure_versions == measure_versions()
    assert manifest.site.region == built.site(SITE).region and manifest.suppression_threshold == 7

    for kind, table in tables.items():
        assert table.num_rows > 0, kind  # the demo site has something of every kind
        assert set(table.column("site_code").to_pylist()) == {SITE}, kind
        assert not [c for c in table.column_names if any(h in c.lower() for h in IDENTIFIER_HINTS)], kind

    measures = tables["measures"].to_pandas()
    withheld = measures[measures["suppressed"]]
    assert len(withheld) > 0, "the small demo site has small counts; the test must see some withheld"
    assert withheld[["numerator", "denominator", "value"]].isna().all().all()
    published = measures[~measures["suppressed"]]
    assert published["numerator"].notna().all()
    # What the collector re-checks: no count it receives unwithheld is from 1 to the threshold.
    spc = tables["benefit_spc"].to_pandas()
    for frame in (published, spc[~spc["suppressed"]]):
        for col in ("numerator", "denominator"):
            assert not frame[col].between(1, manifest.suppression_threshold).any(), col
    # The same rows the site's own disclosure control decided, no more and no fewer.
    expected = built.wh.scalar(
        "select count(*) from measures.disclosure_control where group_type = 'site' and group_code = :s", {"s": SITE}
    )
    assert len(measures) == expected

    dq = tables["dq_rows"].to_pandas()
    assert (dq["rows_in"] == dq["rows_loaded"] + dq["rows_quarantined"]).all()
    staged = built.wh.scalar("select count(*) from staging.medication_administrations where _site = :s", {"s": SITE})
    assert dq[dq["dataset"] == "medication_administrations"]["rows_loaded"].sum() == staged
    rules = tables["dq_rules"].to_pandas()
    assert ((rules["pass_rate"] >= 0) & (rules["pass_rate"] <= 1)).all()
    assert (rules["checks_passed"] <= rules["checks"]).all()


def test_a_month_range_keeps_only_rows_whose_data_lie_inside_it(built):
    first, last = dt.date(2017, 4, 1), dt.date(2018, 5, 1)
    tables = build_tables(built.wh, SITE, first, last)
    m = tables["measures"].to_pandas()
    assert set(m["period_type"]) == {"month", "quarter", "year"}
    span = {"month": 1, "quarter": 3, "year": 12}
    for row in m.itertuples():
        start = row.period_start
        end_index = start.year * 12 + start.month - 1 + span[row.period_type] - 1
        assert first <= start and (end_index // 12, end_index % 12 + 1) <= (last.year, last.month), row
    # 2017/18 lies inside; Q1 2018/19 (April to June 2018) ends after May: left to a package that covers it whole.
    assert set(m.loc[m["period_type"] == "year", "period_start"]) == {dt.date(2017, 4, 1)}
    assert max(m.loc[m["period_type"] == "quarter", "period_start"]) == dt.date(2018, 1, 1)
    assert max(m.loc[m["period_type"] == "month", "period_start"]) == last
    for kind, col in (("benefits", "as_of_month"), ("dq_rows", "month"), ("dq_rules", "month")):
        values = tables[kind].column(col).to_pylist()
        assert values and all(first <= v <= last for v in values), kind
    # An SPC chart keeps its baseline, before the range, and stops at its end.
    spc = tables["benefit_spc"].column("month").to_pylist()
    assert min(spc) < first and max(spc) == last


def test_a_kind_with_nothing_to_say_is_an_empty_file_not_a_missing_one(built, key, tmp_path):
    # Before any benefit went live: no benefit rows, yet the file is there with its schema.
    tables = build_tables(built.wh, SITE, dt.date(2016, 4, 1), dt.date(2016, 6, 1))
    assert tables["benefits"].num_rows == 0 and tables["measures"].num_rows > 0
    url = str(tmp_path / "exchange")
    fields = manifest_fields(built.site(SITE), dt.date(2016, 4, 1), dt.date(2016, 6, 1), 7)
    name = write_package(url, SITE, tables, fields, key)
    manifest, tables = check_package(url, name, built.home)
    assert {f.kind: f.rows for f in manifest.files}["benefits"] == 0


class RecordingMemoryFS(MemoryFileSystem):
    """A real in-memory filesystem that remembers the order files were written in, and can be told
    to fail on one file name (as a full disk or a dropped connection would)."""

    protocol = "recmem"
    store: dict = {}  # its own, not the shared memory:// store
    pseudo_dirs = [""]
    written: list[str] = []
    fail_on: str | None = None

    @classmethod
    def _strip_protocol(cls, path):
        return MemoryFileSystem._strip_protocol("memory://" + str(path).removeprefix("recmem://"))

    def pipe_file(self, path, value, *args, **kwargs):
        if self.fail_on and path.endswith("/" + self.fail_on):
            raise OSError(f"write of {path} failed")
        type(self).written.append(path.rsplit("/", 1)[-1])
        return super().pipe_file(path, value, *args, **kwargs)


@pytest.fixture
def recmem():
    fsspec.register_implementation("recmem", RecordingMemoryFS, clobber=True)
    RecordingMemoryFS.written, RecordingMemoryFS.fail_on = [], None
    RecordingMemoryFS.store.clear()
    RecordingMemoryFS.pseudo_dirs[:] = [""]
    yield RecordingMemoryFS
    RecordingMemoryFS.store.clear()


def test_the_signature_is_written_last(built, key, recmem):
    done = submit(built.wh, built.site(SITE), "recmem://exchange", key, threshold=7)
    assert recmem.written[-2:] == [pkg.MANIFEST, pkg.SIGNATURE]
    assert sorted(recmem.written[:-2]) == sorted(k.file for k in pkg.KINDS.values())
    check_package("recmem://exchange", done.name, built.home)


@pytest.mark.parametrize("failing", ["benefits.parquet", pkg.MANIFEST])
def test_a_failed_write_leaves_no_signature(built, key, recmem, failing):
    recmem.fail_on = failing
    with pytest.raises(OSError, match=failing):
        submit(built.wh, built.site(SITE), "recmem://exchange", key, threshold=7)
    fs, _ = _open("recmem://exchange")
    (folder,) = fs.ls("/exchange/inbox", detail=False)
    names = [p.rsplit("/", 1)[-1] for p in fs.ls(folder, detail=False)]
    assert pkg.SIGNATURE not in names and failing not in names and names  # incomplete, so left alone


def test_two_packages_in_the_same_second_get_different_names(built, key, tmp_path):
    tables = build_tables(built.wh, SITE)
    fields = manifest_fields(built.site(SITE), dt.date(2016, 4, 1), dt.date(2019, 3, 1), 7)
    now = dt.datetime(2026, 1, 5, 9, 0, 0, tzinfo=dt.timezone.utc)
    a = write_package(str(tmp_path), SITE, tables, fields, key, now=now)
    b = write_package(str(tmp_path), SITE, tables, fields, key, now=now)
    assert a != b and pkg.parse_name(b).created == "20260105T090001Z"


def test_bad_requests_name_what_is_wrong(built, key, tmp_path):
    with pytest.raises(SubmitError, match="after --to-month"):
        build_tables(built.wh, SITE, dt.date(2018, 1, 1), dt.date(2017, 1, 1))
    with pytest.raises(SubmitError, match="no national measure rows for X24"):
        build_tables(built.wh, "X24")
    tables = build_tables(built.wh, SITE)
    fields = manifest_fields(built.site(SITE), dt.date(2016, 4, 1), dt.date(2019, 3, 1), 7)
    with pytest.raises(SubmitError, match="'RRK' is not 'RF4'"):
        write_package(str(tmp_path), SITE, tables, {**fields, "site_code": OTHER}, key)
    with pytest.raises(SubmitError, match="no table for dq_rules; patients not among the kinds"):
        write_package(str(tmp_path), SITE, {**{k: t for k, t in tables.items() if k != "dq_rules"}, "patients": tables["measures"]},
                      fields, key)  # fmt: skip
    wrong = {**tables, "measures": tables["measures"].drop_columns(["suppression_reason"])}
    with pytest.raises(SubmitError, match="measures.parquet: schema"):
        write_package(str(tmp_path), SITE, wrong, fields, key)


def test_package_to_a_local_s3_server_is_listed_in_the_inbox_and_verifies(built, key, s3_bucket):
    done = submit(built.wh, built.site(SITE), s3_bucket, key, threshold=7)
    fs, root = _open(s3_bucket)
    fs.invalidate_cache()
    listed = [p.rsplit("/", 1)[-1] for p in fs.ls(f"{root}/{pkg.INBOX}", detail=False)]
    assert listed == [done.name]
    assert done.url == f"{s3_bucket}/inbox/{done.name}"
    manifest, tables = check_package(s3_bucket, done.name, built.home)
    assert tables["measures"].num_rows == next(f.rows for f in manifest.files if f.kind == "measures") > 0
    # The collector's answer, read back from the same store.
    receipt = pkg.Receipt(package=done.name, site_code=SITE, status="rejected", reasons=["dq_rows.parquet: truncated"],
                          received_at="2026-02-06T03:00:00Z")  # fmt: skip
    fs.pipe_file(f"{root}/{pkg.RECEIPTS}/{done.name}.json", receipt.model_dump_json().encode())
    assert receipts(s3_bucket, SITE) == [receipt] and receipts(s3_bucket, OTHER) == []
