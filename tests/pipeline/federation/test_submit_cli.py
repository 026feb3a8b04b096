"""`benefits submit` as a trust runs it: the package's name, files and rows; its receipts with
`--status`; and one clear line, no traceback, for each kind of bad input."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline import runtime
from pipeline.cli import _register, app
from pipeline.federation import package as pkg
from tests.pipeline.federation.conftest import OTHER, SITE


@pytest.fixture
def cli(built, monkeypatch):
    _register()
    monkeypatch.setenv("BENEFITS_HOME", str(built.home))
    monkeypatch.delenv("BENEFITS_WAREHOUSE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [*args])

    yield invoke
    runtime.reset()


def _one_clear_line(result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_submit_prints_the_package_its_files_and_rows(cli, built, tmp_path):
    out = tmp_path / "exchange"
    result = cli("submit", "--site", SITE, "--to", str(out), "--from", "2017-04", "--to-month", "2018-03",
                 "--sites", str(built.sites_dir), "--warehouse", built.url)  # fmt: skip
    assert result.exit_code == 0, result.output
    (folder,) = (out / pkg.INBOX).iterdir()
    assert folder.name.startswith(f"{SITE}-2017-04-2018-03-") and folder.name in result.output
    manifest = pkg.Manifest.model_validate_json((folder / pkg.MANIFEST).read_bytes())
    for entry in manifest.files:
        assert entry.name in result.output and f"{entry.rows:,}" in result.output
    assert (folder / pkg.SIGNATURE).is_file()


def test_status_shows_only_the_sites_receipts_newest_first(cli, tmp_path):
    receipts = tmp_path / "exchange" / pkg.RECEIPTS
    receipts.mkdir(parents=True)
    older = f"{SITE}-2017-04-2018-03-20260105T090000Z"
    newer = f"{SITE}-2017-04-2018-03-20260205T090000Z"
    other = f"{OTHER}-2017-04-2018-03-20260205T090000Z"
    for name, status, reasons in (
        (older, "rejected", ["measures.parquet: sha256 does not match the manifest"]),
        (newer, "accepted", []),
        (other, "rejected", ["signature does not verify"]),
    ):
        receipt = pkg.Receipt(package=name, site_code=name[:3], status=status, reasons=reasons,
                              received_at="2026-02-06T03:00:00Z")  # fmt: skip
        (receipts / f"{name}.json").write_text(receipt.model_dump_json())
    (receipts / f"{SITE}-2017-04-2018-03-20260301T090000Z.json").write_text("{not json")

    result = cli("submit", "--status", "--site", SITE, "--to", str(tmp_path / "exchange"))
    assert result.exit_code == 0, result.output
    assert newer in result.output and older in result.output and other not in result.output
    assert result.output.index(newer) < result.output.index(older)
    assert "sha256 does not match the manifest" in result.output and "accepted" in result.output

    empty = cli("submit", "--status", "--site", OTHER, "--to", str(tmp_path / "nowhere"))
    assert empty.exit_code == 0 and "no receipts" in empty.output


def test_bad_input_ends_in_one_clear_line(cli, built, tmp_path):
    base = ["--to", str(tmp_path / "exchange"), "--sites", str(built.sites_dir)]
    line = _one_clear_line(cli("submit", "--site", SITE, "--from", "2018-13", *base, "--warehouse", built.url))
    assert "--from" in line and "YYYY-MM" in line
    line = _one_clear_line(cli("submit", "--site", SITE, "--to-month", "March", *base, "--warehouse", built.url))
    assert "--to-month" in line
    line = _one_clear_line(cli("submit", "--site", "ZZZ", *base, "--warehouse", built.url))
    assert "ZZZ" in line
    line = _one_clear_line(cli("submit", "--site", OTHER, *base, "--warehouse", built.url))
    assert "no signing key for RRK" in line and "keys init" in line

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    line = _one_clear_line(cli("submit", "--site", SITE, *base, "--warehouse", f"duckdb:///{empty}"))
    assert "measures.disclosure_control" in line and "benefits run" in line
    line = _one_clear_line(cli("submit", "--site", SITE, *base, "--warehouse", f"duckdb:///{tmp_path / 'none.duckdb'}"))
    assert "no warehouse" in line
    assert not (tmp_path / "exchange" / pkg.INBOX).exists()


@pytest.mark.parametrize("command", [["submit"], ["keys", "init"], ["keys", "show"]])
def test_help_renders(command):
    # Help text is Rich markup: a bracket in it (s3://bucket[/prefix]) once broke `submit --help`.
    _register()
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "--site" in result.output, result.output
