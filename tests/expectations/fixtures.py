"""Clean contract-native fixtures per dataset, and one deliberate break per rule.

A fixture is a list of dicts (contract column -> text, as a CSV would carry it) for June 2018,
validated as at AS_OF. `break_rule(rule, rows, idx)` breaks `rule` on the rows at `idx` and
returns what should fail: {rule name: rows}, including any rule that must fail with it (a value
that does not parse is also missing, for instance). Breaks are derived from the rule itself
(its kind and columns), so a rule added to a contract gets a test without editing this file.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from dataset_contracts.contracts import Contract, get_contract
from expectations.rules import Rule

MONTH = dt.date(2018, 6, 1)
AS_OF = dt.datetime(2018, 6, 20, 12, 0)
FUTURE = "2018-06-25 08:00:00"
SITE = "TST"
WARDS = ["W01", "W02", "W03"]
SPECIALTIES = ["100", "300", "501"]
# The test site's mappings: list = the allowed national values, dict = local -> national.
MAPPINGS = {
    "medication_administrations": {
        "ward_code": WARDS,
        "omission_reason": {"NBM": "nil_by_mouth", "CLIN": "clinical_reason"},
        "status": {"GIVEN": "given", "OMITTED": "omitted"},
    },
    "patient_safety_incidents": {"ward_code": WARDS},
    "inpatient_spells": {"ward_code": WARDS, "main_specialty_code": SPECIALTIES},
    "ae_monthly": {},
}


def site_config():
    from pipeline.config.sites import SiteConfig

    return SiteConfig(ods_code=SITE, name="Test trust", trust_type="acute", region="Test", mappings=MAPPINGS)


def _ts(day: int, hour: int = 8, minute: int = 0) -> str:
    return f"2018-06-{day:02d} {hour:02d}:{minute:02d}:00"


def clean_rows(dataset: str, n: int = 40) -> list[dict]:
    """n rows that pass every rule of the dataset (with MAPPINGS, as at AS_OF)."""
    rows = []
    for i in range(n):
        day = 1 + i % 15
        if dataset == "medication_administrations":
            given = i % 4 != 3
            rows.append(
                {
                    "administration_id": f"MA{i:05d}",
                    "site_code": SITE,
                    "patient_ref": f"P{i % 7:04d}",
                    "ward_code": WARDS[i % 3],
                    "drug_code": "322236009",
                    "critical_medicine": "true" if i % 2 else "false",
                    "scheduled_at": _ts(day),
                    "administered_at": _ts(day, 8, 20) if given else "",
                    "status": "given" if given else "omitted",
                    "omission_reason": "" if given else "nil_by_mouth",
                    "dose_value": str(10 + i),
                    "dose_unit": "mg",
                }
            )
        elif dataset == "patient_safety_incidents":
            med = i % 3 == 0
            rows.append(
                {
                    "incident_id": f"IN{i:05d}",
                    "site_code": SITE,
                    "ward_code": WARDS[i % 3],
                    "occurred_at": _ts(day, 9),
                    "reported_at": _ts(day, 15),
                    "category": "medication" if med else "fall",
                    "harm_level": "low" if i % 2 else "no_harm",
                    "medication_stage": "administration" if med else "",
                }
            )
        elif dataset == "inpatient_spells":
            rows.append(
                {
                    "spell_id": f"SP{i:05d}",
                    "site_code": SITE,
                    "patient_ref": f"P{i % 9:04d}",
                    "ward_code": WARDS[i % 3],
                    "admitted_at": _ts(day, 10),
                    "discharged_at": _ts(day + 2, 11) if i % 5 else "",
                    "admission_method": "emergency" if i % 2 else "elective",
                    "main_specialty_code": SPECIALTIES[i % 3],
                    "discharge_destination": "home" if i % 5 else "",
                }
            )
        elif dataset == "ae_monthly":
            rows.append(
                {
                    "period": MONTH.isoformat(),
                    "org_code": f"R{i:03d}",  # one row per organisation: a changed dept_type never collides
                    "dept_type": ("1", "2", "other")[i % 3],
                    "attendances": str(1000 + i),
                    "breaches_4h": str(100 + i),
                    "emergency_admissions": str(200 + i),
                }
            )
        else:
            raise KeyError(dataset)
    return rows


# A row that is this text, written as it is: a line no CSV writer would produce (break_rule).
RAW_LINE = "__raw_line__"


def write_csv(path: Path, contract: Contract, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=contract.column_names)
        w.writeheader()
        for row in rows:
            if RAW_LINE in row:
                f.write(row[RAW_LINE] + "\r\n")
            else:
                w.writerow(row)
    return path


def fixture_name(dataset: str) -> str:
    """The file name carries the month (the files connector reads `_period` from it)."""
    return f"{dataset}_{MONTH:%Y-%m}.csv"


def _later_partners(contract: Contract, column: str) -> list[str]:
    return [later for later, earlier, _ in contract.ordered_pairs if earlier == column]


def break_rule(contract: Contract, rule: Rule, rows: list[dict], idx: list[int]) -> dict[str, int]:
    """Break `rule` on rows[idx]; return every rule expected to fail, with its unexpected count."""
    name, k = rule.name, len(idx)
    col = rule.gx_kwargs.get("column")
    if name == "malformed_line":
        # A line with one field too many: read as a row with no values, so the rules that want a
        # value count it too (its _failed_rules in quarantine names malformed_line alone).
        for i in idx:
            rows[i] = {RAW_LINE: ",".join(rows[i].values()) + ",surplus"}
        required = {f"{c.name}_not_null": k for c in contract.columns if c.required}
        return {name: k, "values_parse_as_contract_types": k, **required}
    if name.endswith("_is_safe_text"):
        column = name.removesuffix("_is_safe_text")
        for i in idx:
            rows[i][column] = f'=HYPERLINK("http://evil.example/{i}","click")'  # distinct: keys stay unique
        also = {f"{column}_has_mapping": k} if column in MAPPINGS[contract.name] else {}
        if column == "site_code" == contract.site_column:
            also[f"site_code_is_{SITE}"] = k  # validated as the TST site: not its code either
        return {name: k, **also}
    if name == "values_parse_as_contract_types":
        typed = [c for c in contract.columns if c.type != "varchar"]
        target = next((c for c in typed if not c.required), typed[0])
        for i in idx:
            rows[i][target.name] = "garbage"
        return {name: k, **({f"{target.name}_not_null": k} if target.required else {})}
    if name.endswith("_not_null"):
        for i in idx:
            rows[i][col] = ""
        return {name: k}
    if name.endswith("_in_value_set"):
        for i in idx:
            rows[i][col] = "bogus"
        return {name: k}
    if name.endswith("_has_mapping"):
        for i in idx:
            rows[i][col] = "UNMAPPED"
        return {name: k, **_digit_rule(contract, col, k)}
    if "_digits" in name:
        column = name.split("_is_")[0]
        for i in idx:
            rows[i][column] = "AB1"
        mapped = column in MAPPINGS[contract.name] and not contract.column(column).values
        return {name: k, **({f"{column}_has_mapping": k} if mapped else {})}
    if name.endswith("_not_negative"):
        for i in idx:
            rows[i][col] = "-5"
        # a negative upper bound is below whatever it bounds
        bounded = {f"{small}_not_above_{large}": k for small, large, _ in contract.bounded_pairs if large == col}
        return {name: k, **bounded}
    if rule.unique_columns:
        for i in idx[1:]:
            for c in rule.unique_columns:
                rows[i][c] = rows[idx[0]][c]
        return {name: k}
    if rule.gx_type == "ExpectColumnPairValuesAToBeGreaterThanB" and "_not_before_" in name:
        later, earlier = rule.gx_kwargs["column_A"], rule.gx_kwargs["column_B"]
        for i in idx:
            if contract.name == "medication_administrations":
                rows[i]["status"], rows[i]["omission_reason"] = "given", ""
            rows[i][later] = _shift(rows[i][earlier], hours=-1)
        return {name: k}
    if rule.gx_type == "ExpectColumnPairValuesAToBeGreaterThanB" and "_not_above_" in name:
        larger, smaller = rule.gx_kwargs["column_A"], rule.gx_kwargs["column_B"]
        for i in idx:
            rows[i][smaller] = str(int(rows[i][larger]) + 1)
        return {name: k}
    if name.endswith("_not_in_future"):
        column = contract.column(col)
        also: dict[str, int] = {}
        for i in idx:
            rows[i][col] = "2018-07-01" if column.type == "date" else FUTURE
            for later in _later_partners(contract, col):
                if contract.column(later).required:
                    rows[i][later] = FUTURE
                    also[f"{later}_not_in_future"] = k
                else:
                    rows[i][later] = ""
                    if contract.name == "medication_administrations":
                        rows[i]["status"], rows[i]["omission_reason"] = "omitted", "nil_by_mouth"
        if column.type == "date":  # a future month is also outside the file's month
            also[f"{contract.period_column}_inside_batch_period"] = k
        return {name: k, **also}
    if name.endswith("_inside_batch_period"):
        p = contract.period_column
        for i in idx:
            rows[i][p] = "2018-05-01" if contract.column(p).type == "date" else "2018-05-10 08:00:00"
        return {name: k}
    if name.endswith("_is_first_of_month"):
        column = name.removesuffix("_is_first_of_month")
        for i in idx:
            rows[i][column] = "2018-06-15"
        return {name: k}
    raise NotImplementedError(f"no deliberate break for rule {name!r}; add one in tests/expectations/fixtures.py")


def _digit_rule(contract: Contract, column: str, k: int) -> dict[str, int]:
    """A non-code also breaks the column's digits rule, if it has one."""
    digits = contract.column(column).digits
    if digits is None:
        return {}
    lo, hi = digits
    return {f"{column}_is_{lo}_digits" if lo == hi else f"{column}_is_{lo}_to_{hi}_digits": k}


def _shift(value: str, hours: int) -> str:
    t = dt.datetime.fromisoformat(value) + dt.timedelta(hours=hours)
    return t.isoformat(sep=" ")


# Rules a CSV fixture cannot break: the files connector and harmonise always deliver every
# contract column and the row count; these are tested on a hand-made landing table instead.
TABLE_LEVEL = ("batch_not_empty", "required_columns_present")


def rules_for(dataset: str, keys_table: str | None = None) -> list[Rule]:
    from expectations.rules import build_rules

    return build_rules(get_contract(dataset), mappings=MAPPINGS[dataset], as_of=AS_OF, keys_table=keys_table)


def breaking_all(dataset: str, per_rule: int = 2) -> tuple[list[dict], dict[str, int]]:
    """One fixture that breaks every row-level rule on its own rows; expected count per rule."""
    contract = get_contract(dataset)
    rules = [r for r in rules_for(dataset) if r.name not in TABLE_LEVEL]
    rows = clean_rows(dataset, n=per_rule * 2 * len(rules) + 10)
    expected: dict[str, int] = {}
    start = 0
    for rule in rules:
        size = 3 if rule.unique_columns else per_rule
        for name, n in break_rule(contract, rule, rows, list(range(start, start + size))).items():
            if any(r.name == name for r in rules):  # not the site's own rules: rules_for has none
                expected[name] = expected.get(name, 0) + n
        start += size + 1
    return rows, expected
