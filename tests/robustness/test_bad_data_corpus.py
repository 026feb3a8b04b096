"""A corpus of bad extracts (issue 15, acceptance): every row-level rule of the ePMA contract
broken on its own site, and files that are broken as files. Each one goes through the real
ingest; each batch accounts for every row it read (loaded + quarantined), names the rule (so the
field) and the file of each quarantined row, or says in its reason what held or failed it, and
leaves another site's loaded rows as they were.

One warehouse and one ingest per site serve the whole module: a site per bad input keeps the
inputs apart as a trust's sources would be."""

from __future__ import annotations

import pytest
import yaml

from dataset_contracts.contracts import get_contract
from tests.expectations.fixtures import MAPPINGS, SITE, TABLE_LEVEL, break_rule, clean_rows, fixture_name, rules_for, write_csv
from tests.robustness.cli import assert_accounted

# One worker builds the module's warehouse; the package-wide grouping of tests/conftest.py is
# applied after pytest-xdist has read the groups, so the module names its own.
pytestmark = pytest.mark.xdist_group("robustness/bad-data")

MED = "medication_administrations"
CONTRACT = get_contract(MED)
N = 100  # rows per file: two or three bad ones stay under the 5% that holds a batch
CONTROL = "CTL"
FILE = fixture_name(MED)


def _rule_case(rule):
    def make(code: str) -> tuple[bytes, list[str]]:
        rows = clean_rows(MED, n=N)
        idx = [10, 11, 12] if rule.unique_columns else [10, 11]
        break_rule(CONTRACT, rule, rows, idx)
        return _csv(rows, code), [rule.name]

    return make


def _csv(rows: list[dict], code: str) -> bytes:
    import csv
    import io

    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=CONTRACT.column_names, lineterminator="\r\n")
    w.writeheader()
    for row in rows:
        if "__raw_line__" in row:
            out.write(row["__raw_line__"] + "\r\n")
        else:
            w.writerow({k: (code if v == SITE else v) for k, v in row.items()})
    return out.getvalue().replace(f",{SITE},", f",{code},").encode()


def _lines(edit):
    def make(code: str) -> tuple[bytes, list[str]]:
        lines = _csv(clean_rows(MED, n=N), code).split(b"\r\n")
        names = edit(lines)
        return b"\r\n".join(lines), names

    return make


def _ragged(lines):
    lines[5] += b",surplus"
    return ["malformed_line", f"line 6 of {FILE}"]


def _short(lines):
    lines[9] = lines[9].rsplit(b",", 2)[0]
    return ["malformed_line", f"line 10 of {FILE}"]


def _undecodable(lines):
    lines[3] = lines[3].replace(b"MA00002", b"MA\xe90002")
    return ["malformed_line", f"line 4 of {FILE}", "utf-8"]


def _mostly_malformed(lines):
    for i in range(2, 40, 3):
        lines[i] += b",surplus"
    return ["malformed_line", f"line 3 of {FILE}"]


def _truncated(lines):
    del lines[-1]  # the final newline goes, and half of the last row with it
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    return ["malformed_line", FILE]


def _nul_line(lines):
    lines[7] = lines[7].replace(b"P000", b"P\x00000", 1)
    return ["patient_ref_is_safe_text"]


def _escape(lines):
    lines[7] = lines[7].replace(b"P000", b"\x1b[2JP000", 1)
    return ["patient_ref_is_safe_text"]


def _whole(text: bytes, *names: str):
    return lambda code: (text, [*names])


# a warning quarantines nothing (its failures are recorded only; tests/expectations/test_rules.py)
CASES = {f"rule {r.name}": _rule_case(r) for r in rules_for(MED) if r.name not in TABLE_LEVEL and r.severity != "warning"}
CASES |= {
    "a line with a field too many": _lines(_ragged),
    "a line two fields short": _lines(_short),
    "bytes that are not UTF-8": _lines(_undecodable),
    "a file mostly of malformed lines": _lines(_mostly_malformed),
    "a file cut off mid-row": _lines(_truncated),
    "a NUL byte in a value": _lines(_nul_line),
    "a terminal escape in a value": _lines(_escape),
    "an empty file": _whole(b"", FILE, "empty"),
}  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from pipeline import runtime
    from pipeline.config.settings import load_settings
    from pipeline.ingest.source import ingest_source
    from pipeline.runtime import get_sites, prepare_warehouse, validator, warehouse
    from tests.expectations.fixtures import AS_OF

    root = tmp_path_factory.mktemp("bad-data")
    mp = pytest.MonkeyPatch()
    mp.setenv("BENEFITS_HOME", str(root / "home"))
    mp.delenv("BENEFITS_WAREHOUSE_URL", raising=False)
    runtime.reset()
    codes = {case: f"Q{i:02d}" for i, case in enumerate(sorted(CASES))}
    names: dict[str, list[str]] = {}
    for case, code in [*codes.items(), (None, CONTROL)]:
        text, names[code] = CASES[case](code) if case else (_csv(clean_rows(MED, n=N), code), [])
        (root / "drop" / code).mkdir(parents=True)
        (root / "drop" / code / FILE).write_bytes(text)
        config = {"ods_code": code, "name": f"Trust {code}", "trust_type": "acute", "region": "Test",
                  "sources": [{"name": "epma", "connector": "files", "dataset": MED,
                               "options": {"path": str(root / "drop" / code / "*.csv")}}],
                  "mappings": MAPPINGS}  # fmt: skip
        (root / "sites").mkdir(exist_ok=True)
        (root / "sites" / f"{code}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    settings = load_settings()
    sites = {s.ods_code: s for s in get_sites(root / "sites")}
    wh = warehouse(settings)
    prepare_warehouse(wh, list(sites.values()))
    check = validator(wh)

    def ingest(code):
        site = sites[code]
        return ingest_source(wh, site, site.sources[0], settings=settings, validator=check, as_of=AS_OF)

    control = ingest(CONTROL)
    before = _control_rows(wh)
    outcomes = {case: ingest(code) for case, code in codes.items()}
    yield wh, outcomes, names, codes, control, before
    runtime.reset()
    mp.undo()


def _control_rows(wh):
    return wh.query(f"select * from staging.{MED} where site_code = '{CONTROL}' order by administration_id"
                    ).to_dict("records")  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_extract_is_accounted_for_named_and_kept_to_its_site(corpus, case):
    wh, outcomes, names, codes, control, before = corpus
    outcome = outcomes[case]
    expected = names[codes[case]]
    assert outcome.status in ("loaded", "held"), (outcome.status, outcome.reason)
    if outcome.batch_id:
        assert_accounted(wh, outcome.batch_id)
        assert outcome.rows_in == outcome.rows_loaded + outcome.rows_quarantined
    if outcome.rows_quarantined:
        q = wh.query(f"select _failed_rules, _conform_errors, _source_file from quarantine.{MED} where _batch_id = :b",
                     {"b": outcome.batch_id})  # fmt: skip
        assert set(q["_source_file"]) == {FILE}, q
        said = " ".join(q["_failed_rules"].fillna("")) + " " + " ".join(q["_conform_errors"].fillna(""))
    else:
        said = outcome.reason or ""
    for name in expected:
        assert name in said + " " + (outcome.reason or ""), (name, said, outcome.reason)
    # the control site: its batch and its rows, as they were before any bad extract arrived
    assert_accounted(wh, control.batch_id)
    assert _control_rows(wh) == before
