"""Without a terminal, `benefits run -v` logs the pipeline's own steps, one line each, not Great
Expectations' import-time bookkeeping (issue 15 #18)."""

from __future__ import annotations

from tests.robustness.cli import benefits, clean_env


def test_verbose_run_without_a_terminal_shows_the_pipeline_steps(tmp_path):
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "RAA.yaml").write_text("ods_code: RAA\nname: A trust\ntrust_type: acute\nregion: London\n")
    result = benefits("run", "-v", "--sites", str(sites), env=clean_env(tmp_path), timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Skipping registering function" not in out
    lines = result.stderr.splitlines()
    assert "run: 1 site(s): RAA" in lines
    assert {"building marts", "building benefits"} <= set(lines), result.stderr
