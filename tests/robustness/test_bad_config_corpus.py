"""A corpus of bad site configurations: each ends `benefits run` with exit 2, before any data is
touched, in a message naming the file and the field, and no traceback (issue 15, acceptance)."""

from __future__ import annotations

import pytest

from tests.robustness.cli import assert_one_line_error, benefits, clean_env

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
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_site_configuration_is_named(tmp_path, case):
    text, names = CASES[case]
    sites = tmp_path / "sites"
    sites.mkdir()
    (sites / "RAA.yaml").write_text(text)
    result = benefits("run", "--sites", str(sites), env=clean_env(tmp_path), timeout=60)
    assert_one_line_error(result, *names, code=2)
    assert not (tmp_path / "benefits" / "benefits.duckdb").exists()
