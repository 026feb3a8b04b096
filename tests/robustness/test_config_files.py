"""Site configuration files that are hostile or mistaken fail at once, naming the file
(issue 15 #7, #8)."""

from __future__ import annotations

from pathlib import Path

from tests.robustness.cli import assert_one_line_error, benefits, clean_env

_SITE = "ods_code: RAA\nname: A trust\ntrust_type: acute\nregion: London\n"


def _sites(tmp_path: Path, text: str) -> Path:
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "RAA.yaml").write_text(text)
    return sites


def _validate(tmp_path: Path, sites: Path):
    # `run` checks the configuration before anything else; the timeout is what a hang looks like
    return benefits("run", "--sites", str(sites), env=clean_env(tmp_path), timeout=60)


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    bomb = _SITE + "simulation:\n" + "".join(f"  {line}\n" for line in lines)
    result = _validate(tmp_path, _sites(tmp_path, bomb))
    assert_one_line_error(result, "RAA.yaml", "aliases", code=2)


def test_a_very_large_site_file_is_refused(tmp_path):
    big = _SITE + "".join(f"# padding line {i:08d} {'x' * 60}\n" for i in range(220_000))  # about 15 MB
    result = _validate(tmp_path, _sites(tmp_path, big))
    assert_one_line_error(result, "RAA.yaml", "too large", code=2)


def test_brackets_in_an_error_are_printed_as_written(tmp_path):
    bad = _SITE + "sources:\n- name: Bad-Name\n  connector: files\n  dataset: inpatient_spells\n"
    result = _validate(tmp_path, _sites(tmp_path, bad))
    assert_one_line_error(result, "RAA.yaml", "sources.0.name", "^[a-z][a-z0-9_]*$", code=2)


def test_brackets_are_kept_in_other_commands_errors_too(tmp_path):
    bad = _SITE + "sources:\n- name: Bad-Name\n  connector: files\n  dataset: inpatient_spells\n"
    result = benefits("report", "--sites", str(_sites(tmp_path, bad)), env=clean_env(tmp_path), timeout=60)
    assert_one_line_error(result, "RAA.yaml", "^[a-z][a-z0-9_]*$")
    result = benefits("connectors", "new", "[bold]x[/bold]", "--dir", str(tmp_path), env=clean_env(tmp_path))
    assert_one_line_error(result, "'[bold]x[/bold]'")
