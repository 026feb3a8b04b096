"""A file that fails at extract keeps every row accounted for (issue 15 #2): a ragged line, an
unterminated quote or bytes in another encoding are quarantined with their file, line number and
reason while the good rows load; a file that is mostly malformed is held; an empty file is a
0-row outcome naming the file, not an error."""

from __future__ import annotations

import sqlalchemy as sa

from dataset_contracts.contracts import get_contract
from tests.expectations.fixtures import MAPPINGS, clean_rows, fixture_name, write_csv
from tests.expectations.test_release import MED, SPELLS, _ingest as _ingest_one, site_yaml
from tests.robustness.cli import assert_accounted


def _site(tmp_path, med_lines=None, n=100):
    """The TST site; `med_lines` edits the medication file's text lines (line 1 is the header)."""
    drop, sites = tmp_path / "drop", tmp_path / "sites"
    path = write_csv(drop / MED / fixture_name(MED), get_contract(MED), clean_rows(MED, n=n))
    write_csv(drop / SPELLS / fixture_name(SPELLS), get_contract(SPELLS), clean_rows(SPELLS, n=5))
    if med_lines is not None:
        lines = path.read_bytes().split(b"\r\n")
        med_lines(lines)
        path.write_bytes(b"\r\n".join(lines))
    site_yaml(sites, drop, MAPPINGS)
    return sites, path


def _ingest(sites, name):
    """One source through the real ingest; every batch it writes keeps every row it read."""
    outcome, wh = _ingest_one(sites, name)
    if outcome.batch_id:
        assert_accounted(wh, outcome.batch_id)
    return outcome, wh


def _quarantined(wh, batch_id):
    with wh.engine.connect() as c:
        return c.execute(
            sa.text(
                "select _failed_rules, _conform_errors, _source_file, _period, _site, administration_id "
                "from quarantine.medication_administrations where _batch_id = :b order by _conform_errors"
            ),
            {"b": batch_id},
        ).fetchall()


def test_a_ragged_line_is_quarantined_and_the_good_rows_load(home, tmp_path):
    def edit(lines):
        lines[5] += b",surplus"  # line 6 (data row MA00004): a field too many
        lines[9] = lines[9].rsplit(b",", 2)[0]  # line 10 (MA00008): two fields short

    sites, path = _site(tmp_path, edit)
    outcome, wh = _ingest(sites, "epma")
    assert outcome.status == "loaded", outcome.reason
    assert (outcome.rows_in, outcome.rows_loaded, outcome.rows_quarantined) == (100, 98, 2)
    staged = wh.scalar("select count(*) from staging.medication_administrations where _batch_id = :b", {"b": outcome.batch_id})
    assert staged == 98
    rows = _quarantined(wh, outcome.batch_id)
    assert [r._failed_rules for r in rows] == ["malformed_line", "malformed_line"]
    assert rows[0]._conform_errors.startswith(f"malformed line 10 of {path.name}: expected 12 columns, found 10: 'MA00008,")
    assert rows[1]._conform_errors.startswith(f"malformed line 6 of {path.name}: expected 12 columns, found 13: 'MA00004,")
    assert {(r._source_file, str(r._period), r._site, r.administration_id) for r in rows} == {
        (path.name, "2018-06-01", "TST", None)
    }
    batch = wh.query("select rows_in, rows_loaded, rows_quarantined from meta.load_batch where batch_id = :b", {"b": outcome.batch_id})
    assert batch.iloc[0].tolist() == [100, 98, 2]
    dq = wh.scalar(
        "select unexpected_count from meta.dq_result where batch_id = :b and expectation = 'malformed_line'",
        {"b": outcome.batch_id},
    )
    assert dq == 2


def test_a_mostly_malformed_file_is_held_naming_the_first_line(home, tmp_path):
    def edit(lines):
        for i in range(2, 40, 3):  # 13 of 100 rows: over the 5% hold threshold
            lines[i] += b",surplus"

    sites, path = _site(tmp_path, edit)
    outcome, wh = _ingest(sites, "epma")
    assert outcome.status == "held"
    assert outcome.reason.startswith("malformed_line: 13 of 100 rows")
    assert f"(first: line 3 of {path.name}: expected 12 columns, found 13)" in outcome.reason
    # the rules a line with no values fails as well are not reasons of their own
    assert "_not_null" not in outcome.reason and "values_parse" not in outcome.reason
    assert "MA000" not in outcome.reason  # a reason (and an alert) never carries the line's values
    assert outcome.rows_in == outcome.rows_quarantined == 100
    assert wh.scalar("select count(*) from staging.medication_administrations") == 0


def test_a_few_malformed_lines_do_not_push_another_rule_over_the_threshold(home, tmp_path):
    def edit(lines):
        for i in (2, 12, 22, 32):  # 4 malformed lines of 100 ...
            lines[i] += b",surplus"
        for i in (42, 52):  # ... and 2 rows without a ward: 6 rows fail ward_code_not_null, 2% of its own
            fields = lines[i].split(b",")
            fields[3] = b""
            lines[i] = b",".join(fields)

    sites, _ = _site(tmp_path, edit)
    outcome, _ = _ingest(sites, "epma")
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 94, 6), outcome.reason


def test_undecodable_bytes_quarantine_their_line(home, tmp_path):
    def edit(lines):
        lines[3] = lines[3].replace(b"MA00002", b"MA\xe90002")

    sites, path = _site(tmp_path, edit)
    outcome, wh = _ingest(sites, "epma")
    assert (outcome.status, outcome.rows_in, outcome.rows_quarantined) == ("loaded", 100, 1)
    [row] = _quarantined(wh, outcome.batch_id)
    assert row._failed_rules == "malformed_line"
    assert row._conform_errors.startswith(f"malformed line 4 of {path.name}: bytes not valid utf-8 (0xe9 at byte ")
    assert "set `encoding: cp1252`" in row._conform_errors


def test_an_empty_file_is_zero_rows_and_a_warning(home, tmp_path, caplog):
    sites, path = _site(tmp_path)
    path.write_bytes(b"")
    outcome, wh = _ingest(sites, "epma")
    assert (outcome.status, outcome.rows_in) == ("loaded", 0)
    assert outcome.reason == f"{path.name}: the file is empty; nothing to load from it"
    assert any(path.name in r.getMessage() and "empty" in r.getMessage() for r in caplog.records)
    again, _ = _ingest(sites, "epma")
    assert again.status == "up_to_date"  # remembered: not read, warned about or held again


def test_an_empty_file_beside_others_is_named_in_the_batch_reason(home, tmp_path):
    sites, path = _site(tmp_path)
    (path.parent / "medication_administrations_2018-07.csv").write_bytes(b"")
    outcome, wh = _ingest(sites, "epma")
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 100)
    reason = wh.scalar("select reason from meta.load_batch where batch_id = :b", {"b": outcome.batch_id})
    assert reason == "medication_administrations_2018-07.csv: the file is empty; nothing to load from it"


def test_quarantine_show_names_the_line_and_shows_escapes_not_obeys_them(home, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from pipeline.cli import _console, _register, app

    def edit(lines):
        lines[5] += b",surplus"  # line 6
        lines[7] = lines[7].replace(b",P000", b",\x1b[2JP000", 1)  # MA00006's patient_ref clears the screen

    sites, path = _site(tmp_path, edit)
    outcome, _ = _ingest(sites, "epma")
    _register()
    monkeypatch.setattr(_console.console, "width", 200)
    shown = CliRunner().invoke(app, ["quarantine", "show", outcome.batch_id])
    assert shown.exit_code == 0, shown.output
    assert f"malformed line 6 of {path.name}: expected 12 columns, found 13" in shown.output
    assert "malformed_line" in shown.output and "patient_ref_is_safe_text" in shown.output
    assert "\\x1b[2JP000" in shown.output and "\x1b" not in shown.output
