"""Every bad package of issue 14 section 5 is rejected with a reason naming the problem, nothing
of it is merged, and the good package after it in the same inbox is still collected."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from pipeline.federation.collect import collect
from pipeline.federation.keys import load_registry
from pipeline.federation.package import FORMAT, KINDS, MANIFEST, MAX_MANIFEST_BYTES, SIGNATURE, Manifest, manifest_bytes, sha256
from pipeline.marts.disclosure_windows import CURRENT_FIGURES, RUNNING_FIGURES
from pipeline.warehouse.core import Warehouse
from tests.pipeline.federation.collect_support import frames, resign, site_keys, write_package

TODAY = dt.date(2026, 12, 4)
BAD_AT, GOOD_AT = dt.datetime(2025, 7, 10, 9), dt.datetime(2025, 7, 12, 9)


@pytest.fixture
def env(tmp_path):
    private, path = site_keys(tmp_path / "home", ["RAA", "RBB", "RCC"])
    wh = Warehouse(f"duckdb:///{tmp_path / 'collector.duckdb'}")
    yield private, load_registry(path), wh, tmp_path / "exchange"
    wh.dispose()


def _bad(env, **kw):
    private, _, _, root = env
    return write_package(root / "inbox", private["RAA"], "RAA", "2025-04", "2025-06", BAD_AT, **kw)


def _edit_manifest(folder, key, change) -> None:
    """Change the manifest of a written package and sign it again (the site's own key)."""
    m = Manifest.model_validate_json((folder / MANIFEST).read_bytes())
    change(m)
    (folder / MANIFEST).write_bytes(manifest_bytes(m))
    resign(folder, key)


def _run(env, bad, expected: str):
    private, registry, wh, root = env
    good = write_package(root / "inbox", private["RCC"], "RCC", "2025-04", "2025-06", GOOD_AT)
    result = collect(str(root), wh, registry, threshold=7, today=TODAY)
    outcome = {p.package: p for p in result.packages}
    assert outcome[bad.name].status == "rejected"
    assert any(expected in r for r in outcome[bad.name].reasons), outcome[bad.name].reasons
    assert outcome[good.name].status == "accepted"
    for kind in KINDS:
        assert wh.scalar(f"select count(*) from collected.{kind} where package = :p", {"p": bad.name}) == 0
        assert wh.scalar(f"select count(*) from collected.{kind} where package = :p", {"p": good.name}) > 0
    receipt = json.loads((root / "receipts" / f"{bad.name}.json").read_text())
    assert receipt["status"] == "rejected" and receipt["reasons"] == outcome[bad.name].reasons
    assert (root / "rejected" / bad.name).is_dir() and not (root / "inbox" / bad.name).exists()
    assert wh.scalar("select status from meta.submission where package = :p", {"p": bad.name}) == "rejected"
    return outcome[bad.name].reasons


def test_a_byte_changed_in_a_parquet_file(env):
    bad = _bad(env)
    data = bytearray((bad / "measures.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "measures.parquet").write_bytes(bytes(data))
    _run(env, bad, "measures.parquet: sha256 does not match manifest.json")


def test_a_signature_from_another_sites_key(env):
    private = env[0]
    bad = _bad(env)
    resign(bad, private["RBB"])
    _run(env, bad, "made with the key of site RBB, not of RAA")


def test_an_unknown_site(env, tmp_path):
    from pipeline.federation import keys

    keys.init_key(tmp_path / "stranger", "RZZ")
    key = keys.load_private(tmp_path / "stranger", "RZZ")
    bad = write_package(env[3] / "inbox", key, "RZZ", "2025-04", "2025-06", BAD_AT)
    _run(env, bad, "site RZZ in manifest.json has no registered public key")


def test_rows_of_another_site(env):
    reasons = _run(env, _bad(env, data=frames("RBB", "2025-04", "2025-06")), "site_code RBB is not the package's site RAA")
    assert any("measures.parquet row 1 (measure_code ae_4h_performance" in r for r in reasons)


def test_a_truncated_parquet_file_listed_with_its_truncated_hash(env):
    private = env[0]
    bad = _bad(env)
    cut = (bad / "benefits.parquet").read_bytes()[:-40]
    (bad / "benefits.parquet").write_bytes(cut)

    def change(m):
        entry = next(f for f in m.files if f.kind == "benefits")
        entry.bytes, entry.sha256 = len(cut), sha256(cut)

    _edit_manifest(bad, private["RAA"], change)
    _run(env, bad, "benefits.parquet is not a readable Parquet file")


def test_a_truncated_parquet_file(env):
    bad = _bad(env)
    data = (bad / "benefits.parquet").read_bytes()
    (bad / "benefits.parquet").write_bytes(data[: len(data) // 2])
    _run(env, bad, f"benefits.parquet is {len(data) // 2} bytes; manifest.json says {len(data)}")


def test_row_counts_that_do_not_match_the_manifest(env):
    def change(m):
        next(f for f in m.files if f.kind == "measures").rows += 1

    _run(env, _bad(env, edit=change), "measures.parquet has 6 rows; manifest.json says 7")


def test_a_period_in_the_future(env):
    private, _, _, root = env
    bad = write_package(root / "inbox", private["RAA"], "RAA", "2026-11", "2027-01", BAD_AT)
    _run(env, bad, "last_month: 2027-01 is in the future (today is 2026-12-04)")


def test_rows_outside_the_packages_months(env):
    reasons = _run(env, _bad(env, data=frames("RAA", "2025-04", "2025-07")), "is outside the package's months")
    assert any("period_start 2025-07-01" in r for r in reasons)


def test_an_empty_file(env):
    bad = _bad(env)
    (bad / "dq_rows.parquet").write_bytes(b"")
    _run(env, bad, "dq_rows.parquet is empty; manifest.json says")


def test_a_missing_file(env):
    bad = _bad(env)
    (bad / "benefit_spc.parquet").unlink()
    _run(env, bad, "benefit_spc.parquet is listed in manifest.json but missing")


def test_a_manifest_naming_parent_paths(env, tmp_path):
    private = env[0]
    bad = _bad(env)
    # a file outside the package that the manifest's hash would match: it must never be read
    (bad.parent / "measures.parquet").write_bytes((bad / "measures.parquet").read_bytes())

    def change(m):
        next(f for f in m.files if f.kind == "measures").name = "../measures.parquet"

    _edit_manifest(bad, private["RAA"], change)
    _run(env, bad, "manifest.json names file '../measures.parquet': only a plain <kind>.parquet name is allowed")


def test_an_oversized_manifest(env):
    private = env[0]
    bad = _bad(env)
    raw = (bad / MANIFEST).read_bytes()
    padded = raw + b" " * (MAX_MANIFEST_BYTES + 1 - len(raw))  # still valid JSON, and signed
    (bad / MANIFEST).write_bytes(padded)
    resign(bad, private["RAA"])
    _run(env, bad, f"manifest.json is {MAX_MANIFEST_BYTES + 1} bytes, more than the {MAX_MANIFEST_BYTES} allowed")


def test_an_unsuppressed_small_count_signed_with_the_right_key(env):
    data = frames("RAA", "2025-04", "2025-06")
    m = data["measures"]
    row = m.index[(m["measure_code"] == "delayed_critical_doses_rate") & (m["period_start"] == dt.date(2025, 5, 1))][0]
    m.loc[row, ["numerator", "value"]] = [3.0, 3.0 / m.loc[row, "denominator"]]
    _run(env, _bad(env, data=data), "measures.parquet row 5 (measure_code delayed_critical_doses_rate, period_type month, "
                                    "period_start 2025-05-01): numerator 3 is from 1 to the threshold 7 but not withheld")


def test_a_withheld_row_that_still_gives_its_value(env):
    data = frames("RAA", "2025-04", "2025-06")
    data["measures"].loc[0, ["suppressed", "suppression_reason", "numerator"]] = [True, "small_count", None]
    _run(env, _bad(env, data=data), "measures.parquet row 1 (measure_code ae_4h_performance, period_type month, "
                                    "period_start 2025-04-01): suppressed is true but denominator is given")


def test_an_unsuppressed_small_count_in_a_benefit_chart(env):
    data = frames("RAA", "2025-04", "2025-06")
    data["benefit_spc"].loc[2, "denominator"] = 5.0
    _run(env, _bad(env, data=data), "benefit_spc.parquet row 3 (benefit_id B1, month 2025-06-01): denominator 5 is "
                                    "from 1 to the threshold 7")


def test_a_withheld_benefit_month_that_still_gives_its_value(env):
    data = frames("RAA", "2025-04", "2025-06")
    data["benefits"].loc[1, "latest_suppressed"] = True
    _run(env, _bad(env, data=data), "benefits.parquet row 2 (benefit_id B1, as_of_month 2025-05-01): latest_suppressed is "
                                    "true but latest_value is given")


def test_an_unknown_measure_version(env):
    def change(m):
        m.measure_versions["ae_4h_performance"] = "0" * 64

    _run(env, _bad(env, edit=change), "measure_versions: ae_4h_performance version 000000000000 is not this collector's")


def test_a_folder_name_that_disagrees_with_the_manifest(env):
    bad = _bad(env)
    renamed = bad.with_name(bad.name.replace("RAA-2025-04", "RAA-2025-03"))
    bad.rename(renamed)
    _run(env, renamed, "folder name says first month 2025-03, manifest.json says 2025-04")


def test_a_package_that_breaks_the_checker_does_not_stop_the_others(env):
    bad = _bad(env)
    (bad / SIGNATURE).unlink()
    (bad / SIGNATURE).mkdir()  # "complete", but its signature cannot be read as a file
    _run(env, bad, "package could not be checked")


def test_the_same_package_submitted_twice(env):
    private, registry, wh, root = env
    first = _bad(env)
    assert collect(str(root), wh, registry, threshold=7, today=TODAY).packages[0].status == "accepted"
    before = wh.scalar("select count(*) from collected.measures")
    shutil.copytree(root / "accepted" / first.name, root / "inbox" / first.name)
    good = write_package(root / "inbox", private["RCC"], "RCC", "2025-04", "2025-06", GOOD_AT)
    result = {p.package: p for p in collect(str(root), wh, registry, threshold=7, today=TODAY).packages}
    assert result[first.name].status == "rejected" and "already collected" in result[first.name].reasons[0]
    assert result[good.name].status == "accepted"
    assert wh.scalar("select count(*) from collected.measures") == before + 6
    assert wh.scalar("select count(*) from meta.submission where package = :p", {"p": first.name}) == 1


def test_an_unknown_package_format(env):
    def change(m):
        m.format = "benefits-package/99"

    _run(env, _bad(env, edit=change), f"manifest.json field format: 'benefits-package/99' is not {FORMAT!r}")


def test_a_package_without_one_of_the_kinds(env):
    data = frames("RAA", "2025-04", "2025-06")
    del data["benefits"]
    _run(env, _bad(env, data=data), "manifest.json lists no benefits file")


def test_an_older_package_arriving_after_a_newer_one(env):
    private, registry, wh, root = env
    newer = write_package(root / "inbox", private["RAA"], "RAA", "2025-05", "2025-06", dt.datetime(2025, 8, 1, 9))
    assert collect(str(root), wh, registry, threshold=7, today=TODAY).packages[0].status == "accepted"
    reasons = _run(env, _bad(env), f"package {newer.name}, created later, was already collected for these months")
    assert wh.scalar("select count(*) from collected.measures where site_code = 'RAA'") == 4  # the newer rows only
    assert len(reasons) == 1


def test_unplanned_change_signals_of_another_site(env):
    data = frames("RAA", "2025-04", "2025-06")
    data["unplanned"]["site_code"] = "RBB"
    _run(env, _bad(env, data=data), "unplanned.parquet row 1 (measure_code delayed_critical_doses_rate, first_month "
                                    "2025-04-01): site_code RBB is not the package's site RAA")  # fmt: skip


def test_unplanned_change_signals_with_a_column_the_format_does_not_name(env):
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    private = env[0]
    bad = _bad(env)
    table = pq.read_table(bad / "unplanned.parquet")
    table = table.append_column("patient_ref", pa.array(["P1"] * table.num_rows))
    buf = io.BytesIO()
    pq.write_table(table, buf)
    (bad / "unplanned.parquet").write_bytes(buf.getvalue())

    def change(m):
        entry = next(f for f in m.files if f.kind == "unplanned")
        entry.bytes, entry.sha256 = len(buf.getvalue()), sha256(buf.getvalue())

    _edit_manifest(bad, private["RAA"], change)
    _run(env, bad, "unplanned.parquet: column patient_ref is not in the package format")


def test_an_unplanned_change_signal_on_a_measure_that_is_not_national(env):
    data = frames("RAA", "2025-04", "2025-06")
    data["unplanned"]["measure_code"] = "ward_falls_local"
    _run(env, _bad(env, data=data), "measure ward_falls_local has no version in manifest.json measure_versions")


def test_an_unplanned_change_signal_starting_after_the_packages_months(env):
    data = frames("RAA", "2025-04", "2025-06")
    data["unplanned"]["first_month"] = dt.date(2025, 7, 1)
    _run(env, _bad(env, data=data), "first_month 2025-07-01 is outside the package's months 2025-04 to 2025-06")


def test_a_running_total_over_a_withheld_benefit_month(env):
    """The difference of two rows' totals since go-live is the month between them: a package that
    withholds the month but gives the totals after it is rejected."""
    data = frames("RAA", "2025-04", "2025-06")
    spc, fact = data["benefit_spc"], data["benefits"]
    spc.loc[1, ["suppressed", "numerator", "denominator", "value"]] = [True, None, None, None]
    fact["go_live_month"] = dt.date(2025, 4, 1)
    # Everything else over the month withheld as it should be: only the last row's total is given.
    fact[[*CURRENT_FIGURES, *RUNNING_FIGURES]] = None
    fact.loc[1, ["latest_suppressed", "latest_value", "change_abs", "change_pct"]] = [True, None, None, None]
    spc[[c for c in spc.columns if c.startswith("rebased_") and spc[c].dtype == float]] = None
    fact.loc[0, "observed_since_go_live"], fact.loc[2, "observed_since_go_live"] = 100.0, 303.0
    _run(env, _bad(env, data=data), "benefits.parquet row 3 (benefit_id B1, as_of_month 2025-06-01): "
                                    "observed_since_go_live is given, but it is computed over a month the package withholds")
