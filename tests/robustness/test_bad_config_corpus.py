"""A corpus of bad site configurations and benefit registers: each ends `benefits run` with exit
2, before any data is touched and before Prefect starts, in a message naming the file and the
field, and no traceback (issue 15, acceptance)."""

from __future__ import annotations

import pytest

from tests.robustness.cli import assert_clean_failure, benefits, clean_env

_OK = "ods_code: RAA\nname: A trust\ntrust_type: acute\nregion: London\n"
_SOURCE = "sources:\n- name: pas\n  connector: files\n  dataset: inpatient_spells\n  options: {path: /nonexistent/*.csv}\n"
_BENEFIT = ("benefits:\n- id: RAA-LOS\n  title: Shorter stays\n  measure: mean_los_emergency_days\n"
            "  go_live: 2024-07\n  baseline: {start: 2023-01, end: 2024-06}\n")  # fmt: skip

CASES = {
    "empty file": ("", ["RAA.yaml", "mapping"]),
    "a list at the top": ("- a\n- b\n", ["RAA.yaml", "mapping"]),
    "bad YAML": ("ods_code: RAA\nname: [unclosed\n", ["RAA.yaml", "line"]),
    "tab indentation": ("ods_code: RAA\nsources:\n\t- name: x\n", ["RAA.yaml", "YAML"]),
    "missing name": ("ods_code: RAA\ntrust_type: acute\nregion: London\n", ["RAA.yaml", "name"]),
    "unknown field": (_OK + "colour: blue\n", ["RAA.yaml", "colour"]),
    "bad trust type": (_OK.replace("acute", "hospital"), ["RAA.yaml", "trust_type"]),
    "bad ods code": (_OK.replace("ods_code: RAA", "ods_code: r-a"), ["RAA.yaml", "ods_code"]),
    "ods code not the file name": (_OK.replace("ods_code: RAA", "ods_code: RBB"), ["RAA.yaml", "RBB"]),
    "bad role": (_OK + "role: admin\n", ["RAA.yaml", "role"]),
    "national body as a trust": (_OK.replace("acute", "national_body"), ["RAA.yaml", "national_body"]),
    "unknown dataset": (_OK + _SOURCE.replace("inpatient_spells", "beds"), ["RAA.yaml", "sources.0.dataset", "beds"]),
    "bad source name": (_OK + _SOURCE.replace("name: pas", "name: PAS!"), ["RAA.yaml", "sources.0.name"]),
    "two sources with one name": (_OK + _SOURCE + _SOURCE.replace("sources:\n", ""), ["RAA.yaml", "pas"]),
    "unknown source field": (_OK + _SOURCE + "  schedule: daily\n", ["RAA.yaml", "schedule"]),
    "mapping for an unknown dataset": (_OK + "mappings:\n  beds: {}\n", ["RAA.yaml", "beds"]),
    "mapping for an unknown column": (_OK + "mappings:\n  inpatient_spells:\n    colour: {a: b}\n", ["RAA.yaml", "colour"]),
    "unset environment variable": (_OK + _SOURCE.replace("{path: /nonexistent/*.csv}", '{path: "${NO_SUCH_VAR_FF}/*.csv"}'), ["RAA.yaml", "NO_SUCH_VAR_FF"]),
    "hold percent over 100": (_OK + "quality: {hold_above_percent: 150}\n", ["RAA.yaml", "hold_above_percent"]),
    "benefit baseline after go-live": (_OK + _BENEFIT.replace("end: 2024-06", "end: 2024-09"), ["RAA.yaml", "benefits.0"]),
    "benefit month not a month": (_OK + _BENEFIT.replace("go_live: 2024-07", "go_live: soon"), ["RAA.yaml", "go_live"]),
    "benefit ramp too long": (_OK + _BENEFIT + "  ramp_months: 99\n", ["RAA.yaml", "ramp_months"]),
    "benefit bad direction": (_OK + _BENEFIT + "  direction: up\n", ["RAA.yaml", "direction"]),
    "benefit ids repeated": (_OK + _BENEFIT + _BENEFIT.replace("benefits:\n", ""), ["RAA.yaml", "RAA-LOS"]),
    "benefit register file missing": (_OK + "benefits: register.yaml\n", ["RAA.yaml", "register.yaml"]),
    "negative valuation": (_OK + _BENEFIT + "  valuation: {type: cash_releasing, gbp_per_unit: -1, unit: x, source: y}\n",
                           ["RAA.yaml", "gbp_per_unit"]),
    # found by this corpus: each of these used to run for a minute or more first (see the report
    # of issue 15's corpus), or to be taken silently
    "a key given twice": (_OK + "name: Another trust\n", ["RAA.yaml", "line 5", "'name' is given twice"]),
    "unknown connector": (_OK + _SOURCE.replace("connector: files", "connector: ftp"), ["RAA.yaml", "sources.0.connector", "'ftp'"]),
    "connector class that does not import": (_OK + _SOURCE.replace("connector: files", "connector: 'no_such_pkg.mod:Thing'"),
                                             ["RAA.yaml", "sources.0.connector", "no_such_pkg"]),
    "files source without a path": (_OK + _SOURCE.replace("  options: {path: /nonexistent/*.csv}\n", ""), ["RAA.yaml", "sources.0.options.path"]),
    "files source with an unknown option": (_OK + _SOURCE.replace("{path:", "{colour: red, path:"), ["RAA.yaml", "sources.0.options.colour"]),
    "mapping to a value the contract does not allow": (_OK + "mappings:\n  medication_administrations:\n    status: {X: gone}\n",
                                                       ["RAA.yaml", "medication_administrations.status", "'gone'"]),
    "benefit of an unknown measure": (_OK + _BENEFIT.replace("days\n", "dayz\n"), ["RAA.yaml", "benefits.0.measure", "mean_los_emergency_dayz"]),
    "source without a dataset": (_OK + _SOURCE.replace("  dataset: inpatient_spells\n", ""), ["RAA.yaml", "sources.0.dataset"]),
    "source enabled neither true nor false": (_OK + _SOURCE + "  enabled: maybe\n", ["RAA.yaml", "sources.0.enabled"]),
    "hold percent below 0": (_OK + "quality: {hold_above_percent: -1}\n", ["RAA.yaml", "hold_above_percent"]),
    "name given as a list": (_OK.replace("name: A trust", "name: [A, trust]"), ["RAA.yaml", "name"]),
    "sources given as a mapping": (_OK + "sources: {pas: files}\n", ["RAA.yaml", "sources"]),
    "benefit field unknown": (_OK + _BENEFIT + "  colour: red\n", ["RAA.yaml", "benefits.0.colour"]),
    "benefit target field unknown": (_OK + _BENEFIT + "  target: {value: 5, colour: red}\n", ["RAA.yaml", "benefits.0.target.colour"]),
}  # fmt: skip

# register.yaml, named by the site file as `benefits: register.yaml`: the message names the
# register, the file that holds the line to fix
_B = _BENEFIT.removeprefix("benefits:\n")
REGISTER = {
    "not a list": ("a: b\n", ["register.yaml", "list of benefits"]),
    "empty": ("", ["register.yaml", "list of benefits"]),
    "bad YAML": ("- id: [x\n", ["register.yaml", "line 2", "not valid YAML"]),
    "a key given twice": (_B + "  title: again\n", ["register.yaml", "line 6", "'title' is given twice"]),
    "measure missing": (_B.replace("  measure: mean_los_emergency_days\n", ""), ["register.yaml", "benefits.0.measure"]),
    "measure unknown": (_B.replace("mean_los_emergency_days", "los"), ["register.yaml", "benefits.0.measure", "'los'"]),
    "go-live not a month": (_B.replace("2024-07", "July"), ["register.yaml", "benefits.0.go_live", "'July'"]),
    "baseline ending before it starts": (_B.replace("start: 2023-01, end: 2024-06", "start: 2024-06, end: 2023-01"),
                                         ["register.yaml", "benefits.0.baseline"]),
    "negative investment": (_B + "  investment: {one_off_gbp: -5, source: x}\n", ["register.yaml", "benefits.0.investment.one_off_gbp"]),
    "an NHS number in evidence": (_B + "  evidence:\n  - {date: 2024-09-02, kind: quote, text: 'ref 943 476 5919', author: PALS}\n",
                                  ["register.yaml", "benefits.0.evidence.0", "NHS number"]),
    "evidence of an unknown kind": (_B + "  evidence:\n  - {date: 2024-09-02, kind: rumour, text: x, author: PALS}\n",
                                    ["register.yaml", "benefits.0.evidence.0.kind"]),
    "project investment without a source": ("benefits:\n" + _B.replace("- id", "  - id").replace("\n  ", "\n    ")
                                            + "projects:\n  - {name: P, investment: {one_off_gbp: 5}}\n",
                                            ["register.yaml", "projects.0.investment.source"]),
    "benefit ids repeated": (_B + _B, ["RAA.yaml", "RAA-LOS"]),
    "a folder, not a file": (None, ["register.yaml", "cannot read"]),
}  # fmt: skip


def _run(tmp_path, sites):
    result = benefits("run", "--sites", str(sites), env=clean_env(tmp_path), timeout=60)
    assert not (tmp_path / "benefits" / "benefits.duckdb").exists()  # nothing ran
    assert not (tmp_path / "benefits" / "logs" / "prefect-api.log").exists()  # Prefect did not start
    return result


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_site_configuration_is_named(tmp_path, case):
    text, names = CASES[case]
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "RAA.yaml").write_text(text)
    assert_clean_failure(_run(tmp_path, sites), names, code=2)


@pytest.mark.parametrize("case", sorted(REGISTER))
def test_a_bad_benefit_register_is_named(tmp_path, case):
    text, names = REGISTER[case]
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "RAA.yaml").write_text(_OK + "benefits: register.yaml\n")  # beside the site file, as many keep it
    if text is None:
        (sites / "register.yaml").mkdir()
    else:
        (sites / "register.yaml").write_text(text)
    assert_clean_failure(_run(tmp_path, sites), names, code=2)


# the sites folder as a whole, and the options that choose from it
FOLDERS = {
    "no such folder": (lambda d: None, ["--sites", "nope"], ["nope", "no such sites folder"]),
    "a folder with no site files": (lambda d: None, ["--sites", "empty"], ["empty", "no site configuration files"]),
    "a file given as the folder": (lambda d: (d / "afile").write_text("x"), ["--sites", "afile"], ["--sites", "afile"]),
    "two files for one site": (lambda d: (d / "s" / "raa.yml").write_text(_OK), ["--sites", "s"], ["more than one file", "RAA"]),
    "--site not configured": (lambda d: None, ["--sites", "s", "--site", "XYZ"], ["no configuration for site(s) XYZ"]),
    # read first, the register is not a site file: the error is the one in it, not "not a site"
    "a bad register sorted before its site file": (
        lambda d: ((d / "s" / "a-register.yaml").write_text(_B.replace("  measure: mean_los_emergency_days\n", "")),
                   (d / "s" / "zzz.yaml").write_text(_OK.replace("RAA", "ZZZ") + "benefits: a-register.yaml\n")),
        ["--sites", "s"], ["a-register.yaml", "benefits.0.measure"]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FOLDERS))
def test_a_bad_sites_folder_is_named(tmp_path, case):
    make, args, names = FOLDERS[case]
    (tmp_path / "s").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "s" / "RAA.yaml").write_text(_OK)
    make(tmp_path)
    # relative names, as a user types them (and short enough that no message wraps them)
    result = benefits("run", *args, env=clean_env(tmp_path), timeout=60, cwd=tmp_path)
    assert_clean_failure(result, names, code=2)
    assert not (tmp_path / "benefits" / "benefits.duckdb").exists()
