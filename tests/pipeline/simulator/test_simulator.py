"""The seeded simulator of trust extracts: determinism, formats, defects, ground truth, recovery."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from dataset_contracts.contracts import get_contract
from pipeline.simulator import (
    EFFECT_MEASURES,
    SIMULATED_DATASETS,
    SimulationResult,
    SimulationSpec,
    simulate_measure_series,
    simulate_site,
)
from pipeline.simulator import codes

MED, INC, SPELLS = SIMULATED_DATASETS
KEYS = {MED: "administration_id", INC: "incident_id", SPELLS: "spell_id"}
SMALL = dict(ods_code="RF4", scale=0.01, start="2016-04", end="2016-09", defect_rate=0.03)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


def read_dataset(root: Path, dataset: str, flavour: str) -> pd.DataFrame:
    """All month files of a dataset with contract column names (local codes left as they are)."""
    if flavour == "local_csv":
        files = sorted((root / dataset).glob("*.csv"))
        frames = [pd.read_csv(f, dtype=str, keep_default_na=False) for f in files]
        return pd.concat(frames, ignore_index=True).rename(columns=codes.LOCAL_COLUMNS[dataset])
    return pd.concat([pd.read_parquet(f) for f in sorted((root / dataset).glob("*.parquet"))], ignore_index=True)


def ts(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.replace("", None))


def to_contract(s: pd.Series, dataset: str, column: str) -> pd.Series:
    mapping = codes.LOCAL_CODE_MAPS[dataset][column]
    return s.map(lambda v: mapping.get(v, v))


def defect_masks(df: pd.DataFrame, dataset: str) -> dict[str, pd.Series]:
    """Recognise each defect kind in a dataset read with contract column names."""
    key = df[KEYS[dataset]]
    null_key = key.isna() | (key == "")
    if dataset == MED:
        impossible = ts(df.administered_at) < ts(df.scheduled_at)
    elif dataset == INC:
        impossible = ts(df.reported_at) < ts(df.occurred_at)
    else:
        impossible = ts(df.discharged_at) < ts(df.admitted_at)
    out = {
        "null_key": null_key,
        "duplicate": key.duplicated(keep=False) & ~null_key,
        "impossible_time": impossible.fillna(False),
        "unknown_code": df.ward_code == codes.UNKNOWN_WARD,
    }
    if dataset == MED:
        out["negative_dose"] = df.dose_value.astype(float) < 0
    return out


def clean_rows(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    m = defect_masks(df, dataset)
    # Every row of a repeated key is quarantined by the pipeline, so no copy of it counts.
    bad = m["null_key"] | m["duplicate"] | m["impossible_time"] | m["unknown_code"] | m.get("negative_dose", False)
    return df[~bad].reset_index(drop=True)


def recount_measures(root: Path, flavour: str, months: list[str]) -> dict[str, dict[str, tuple[int, int | None]]]:
    """The national measures of DESIGN.md, computed from the written records with pandas."""
    out: dict[str, dict[str, tuple]] = {m: {} for m in (*EFFECT_MEASURES, "bed_days")}
    d = clean_rows(read_dataset(root, MED, flavour), MED)
    crit = d.critical_medicine.isin(["Y", True])
    status = to_contract(d.status, MED, "status")
    month = ts(d.scheduled_at).dt.strftime("%Y-%m")
    due = crit & (status != "not_required")
    given = crit & (status == "given")
    late = given & ((ts(d.administered_at) - ts(d.scheduled_at)) > pd.Timedelta(minutes=30))
    s = clean_rows(read_dataset(root, SPELLS, flavour), SPELLS)
    adm, dis = ts(s.admitted_at), ts(s.discharged_at)
    method = to_contract(s.admission_method, SPELLS, "admission_method")
    dest = to_contract(s.discharge_destination, SPELLS, "discharge_destination")
    dis_month = dis.dt.strftime("%Y-%m")
    los = (dis.dt.normalize() - adm.dt.normalize()).dt.days
    end = pd.Timestamp(months[-1] + "-01") + pd.offsets.MonthBegin(1)
    live = dis.notna() & (dest != "died")
    pairs = s.assign(dis=dis)[live][[KEYS[SPELLS], "patient_ref", "dis"]].merge(
        s.assign(adm=adm)[method == "emergency"][["patient_ref", "adm"]], on="patient_ref"
    )
    pairs = pairs[(pairs.adm > pairs.dis) & (pairs.adm <= pairs.dis + pd.Timedelta(days=30))]
    readmitted = s[KEYS[SPELLS]].isin(set(pairs[KEYS[SPELLS]]))
    inc = clean_rows(read_dataset(root, INC, flavour), INC)
    inc_month = ts(inc.occurred_at).dt.strftime("%Y-%m")
    category = to_contract(inc.category, INC, "category")
    for m in months:
        ms = pd.Timestamp(m + "-01")
        mn = ms + pd.offsets.MonthBegin(1)
        first = np.maximum(adm.dt.floor("D") + pd.Timedelta(days=1), ms)
        last = np.minimum(dis.fillna(end).dt.floor("D"), mn - pd.Timedelta(days=1))
        bed_days = int(((last - first).dt.days + 1).clip(lower=0).sum())
        out["bed_days"][m] = (bed_days, None)
        here = month == m
        omitted = here & due & (status == "omitted")
        out["omitted_critical_doses_rate"][m] = (int(omitted.sum()), int((here & due).sum()))
        out["delayed_critical_doses_rate"][m] = (int((here & late).sum()), int((here & given).sum()))
        em = (method == "emergency") & (dis_month == m)
        out["mean_los_emergency_days"][m] = (int(los[em].sum()), int(em.sum()))
        lm = live & (dis_month == m)
        out["emergency_readmission_30d_rate"][m] = (int((lm & readmitted).sum()), int(lm.sum()))
        for name, cat in (
            ("medication_incidents_per_1000_bed_days", "medication"),
            ("patient_id_incidents_per_1000_bed_days", "patient_identification"),
        ):
            out[name][m] = (int(((inc_month == m) & (category == cat)).sum()), bed_days)
    return out


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory) -> tuple[SimulationSpec, SimulationResult]:
    spec = SimulationSpec(**SMALL, flavour="local_csv")
    return spec, simulate_site(spec, tmp_path_factory.mktemp("csv"))


@pytest.fixture(scope="module")
def parquet_run(tmp_path_factory) -> tuple[SimulationSpec, SimulationResult]:
    spec = SimulationSpec(**SMALL, flavour="contract_parquet")
    return spec, simulate_site(spec, tmp_path_factory.mktemp("parquet"))


def truth_of(result: SimulationResult) -> dict:
    return json.loads(result.ground_truth.read_text())


# --- determinism ---------------------------------------------------------------------------
@pytest.mark.parametrize("flavour", ["local_csv", "contract_parquet"])
def test_same_seed_gives_byte_identical_files(tmp_path, flavour):
    spec = SimulationSpec(**{**SMALL, "end": "2016-06"}, flavour=flavour)
    simulate_site(spec, tmp_path / "a")
    simulate_site(spec, tmp_path / "b")
    a, b = tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "b")
    assert a == b
    assert len(a) == 3 * 3 + 1


def test_different_seed_gives_different_files(tmp_path):
    simulate_site(SimulationSpec(**SMALL, seed=1), tmp_path / "a")
    simulate_site(SimulationSpec(**SMALL, seed=2), tmp_path / "b")
    a, b = tree_hashes(tmp_path / "a"), tree_hashes(tmp_path / "b")
    assert a.keys() == b.keys()
    assert all(a[k] != b[k] for k in a)


def test_a_dataset_does_not_depend_on_which_others_are_written(tmp_path, csv_run):
    _, full = csv_run
    only = simulate_site(SimulationSpec(**SMALL, datasets=(SPELLS,)), tmp_path)
    assert [sha(p) for p in only.files[SPELLS]] == [sha(p) for p in full.files[SPELLS]]
    assert not (tmp_path / MED).exists()


# --- ground truth ----------------------------------------------------------------------------
def test_ground_truth_lists_every_file_with_rows_and_sha256(csv_run):
    spec, result = csv_run
    truth = truth_of(result)
    assert result.ground_truth.read_text() == json.dumps(truth, sort_keys=True, indent=2) + "\n"
    assert truth["spec"] == spec.model_dump(mode="json")
    for dataset in SIMULATED_DATASETS:
        per_month = truth["files"][dataset]
        assert list(per_month) == [f"{m:%Y-%m}" for m in spec.months()]
        total = 0
        for month, rec in per_month.items():
            path = result.out_dir / rec["path"]
            assert path.name == f"{dataset}_{month}.csv"
            assert sha(path) == rec["sha256"]
            lines = path.read_bytes().count(b"\n")
            assert lines - 1 == rec["rows"]
            total += rec["rows"]
        assert total == result.rows[dataset]
    assert not list(result.out_dir.rglob("*.tmp"))


@pytest.mark.parametrize("run", ["csv_run", "parquet_run"])
def test_defect_counts_in_ground_truth_match_the_files(run, request):
    spec, result = request.getfixturevalue(run)
    truth = truth_of(result)
    for dataset in SIMULATED_DATASETS:
        df = read_dataset(result.out_dir, dataset, spec.flavour)
        found = {k: int(v.sum()) for k, v in defect_masks(df, dataset).items()}
        found["duplicate"] //= 2  # each duplicated key gives two rows
        expected = {k: sum(r["defects"][k] for r in truth["files"][dataset].values()) for k in found}
        assert found == expected, dataset
        assert sum(expected.values()) > 0, dataset
        # one defect per row: no row is recognised as two kinds
        masks = defect_masks(df, dataset)
        assert int(sum(m.astype(int) for m in masks.values()).max()) == 1


@pytest.mark.parametrize("run", ["csv_run", "parquet_run"])
def test_measures_from_records_equal_ground_truth_counts(run, request):
    spec, result = request.getfixturevalue(run)
    truth = truth_of(result)["measures"]
    months = [f"{m:%Y-%m}" for m in spec.months()]
    for measure, per_month in recount_measures(result.out_dir, spec.flavour, months).items():
        for month, (num, den) in per_month.items():
            t = truth[measure][month]
            assert (t["numerator"], t["denominator"]) == (num, den), (measure, month)


def test_ground_truth_records_expected_rates_and_effects(tmp_path):
    effect = {
        "measure": "patient_id_incidents_per_1000_bed_days",
        "go_live": "2016-06",
        "rate_ratio": 0.5,
        "ramp_months": 2,
    }
    spec = SimulationSpec(**{**SMALL, "datasets": (SPELLS,)}, effects=[effect])
    truth = truth_of(simulate_site(spec, tmp_path))
    assert truth["effects"] == [effect]
    per_month = truth["measures"]["patient_id_incidents_per_1000_bed_days"]
    assert [round(per_month[m]["effect_multiplier"], 6) for m in per_month] == [1, 1, 0.75, 0.5, 0.5, 0.5]
    assert all(0.5 < v["expected_rate"] < 2 for v in per_month.values())
    assert per_month["2016-04"]["numerator"] is None  # incidents were not written
    assert all(v["effect_multiplier"] == 1 for v in truth["measures"]["mean_los_emergency_days"].values())


# --- formats -------------------------------------------------------------------------------
LOCAL_TS = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def _assert_local_times(series: pd.Series, nullable: bool) -> None:
    values = series[series != ""] if nullable else series
    assert values.str.match(LOCAL_TS).all()


def test_local_csv_columns_and_codes(csv_run):
    spec, result = csv_run
    for dataset in SIMULATED_DATASETS:
        first = result.files[dataset][0].read_text().splitlines()[0]
        assert first == ",".join(codes.LOCAL_COLUMNS[dataset])
    frames = {
        d: pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in result.files[d]])
        for d in SIMULATED_DATASETS
    }
    wards = {*codes.WARDS["acute"], codes.UNKNOWN_WARD}

    m = frames[MED]
    id_ok = m.AdministrationID.str.match(r"^RF4-MA-\d{9}$") | (m.AdministrationID == "")
    assert id_ok.all()
    assert m.PatientID.str.match(r"^RF4-P\d{7}$").all()
    assert set(m.SiteCode) == {"RF4"}
    assert set(m.WardCode) <= wards
    assert set(m.DrugCode) <= set(codes.DRUG_CODES)
    assert set(m.CriticalMedicine) == {"Y", "N"}
    assert set(m.Status) == set(codes.DOSE_STATUS_CODES)
    assert set(m.OmissionReason) == {"", *codes.OMISSION_REASON_CODES}
    assert set(m.DoseUnit) <= set(codes.DOSE_UNIT_CODES)
    assert (m.OmissionReason[m.Status == "GIVEN"] == "").all()
    assert (m.OmissionReason[m.Status != "GIVEN"] != "").all()
    assert (m.AdministeredTime[m.Status != "GIVEN"] == "").all()
    assert (m.AdministeredTime[m.Status == "GIVEN"] != "").all()
    _assert_local_times(m.ScheduledTime, False)
    _assert_local_times(m.AdministeredTime, True)
    m.DoseValue.astype(float)

    i = frames[INC]
    assert {"MED", "FALL", "OTH"} <= set(i.IncidentType) <= set(codes.INCIDENT_TYPE_CODES)
    assert set(i.Harm) <= set(codes.HARM_CODES)
    assert set(i.Location) <= wards
    assert (i.MedicationStage[i.IncidentType != "MED"] == "").all()
    assert set(i.MedicationStage[i.IncidentType == "MED"]) <= set(codes.MEDICATION_STAGE_CODES)
    _assert_local_times(i.DateOccurred, False)
    _assert_local_times(i.DateReported, False)

    s = frames[SPELLS]
    assert set(s.AdmissionMethod) <= set(codes.ADMISSION_METHOD_CODES)
    assert set(s.MainSpecialty) <= set(codes.SPECIALTIES["acute"])
    assert set(s.DischargeDestination) <= {"", *codes.DISCHARGE_DESTINATION_CODES}
    assert set(s.Ward) <= wards
    assert ((s.DischargeDateTime == "") == (s.DischargeDestination == "")).all()
    assert (s.DischargeDateTime == "").any()  # still in hospital at the end
    _assert_local_times(s.AdmissionDateTime, False)
    _assert_local_times(s.DischargeDateTime, True)
    # spells are filed by admission month
    for f in result.files[SPELLS]:
        month = f.stem.rsplit("_", 1)[1]
        assert pd.read_csv(f, dtype=str).AdmissionDateTime.str.startswith(month).all()


def test_contract_parquet_conforms_to_the_contract(parquet_run):
    _, result = parquet_run
    truth = truth_of(result)
    for dataset in SIMULATED_DATASETS:
        contract = get_contract(dataset)
        for f in result.files[dataset]:
            assert pq.read_schema(f).remove_metadata() == contract.arrow_schema()
        df = read_dataset(result.out_dir, dataset, "contract_parquet")
        null_keys = sum(r["defects"]["null_key"] for r in truth["files"][dataset].values())
        for col in contract.columns:
            values = df[col.name]
            if col.values is not None:
                assert set(values.dropna()) <= set(col.values), (dataset, col.name)
            if col.required:
                expected_nulls = null_keys if col.name == contract.key else 0
                assert int(values.isna().sum()) == expected_nulls, (dataset, col.name)
    spells = read_dataset(result.out_dir, SPELLS, "contract_parquet")
    assert spells.main_specialty_code.str.fullmatch(r"\d{3}").all()


def test_doses_belong_to_patients_in_hospital_on_that_ward(csv_run):
    spec, result = csv_run
    doses = clean_rows(read_dataset(result.out_dir, MED, spec.flavour), MED)
    spells = clean_rows(read_dataset(result.out_dir, SPELLS, spec.flavour), SPELLS)
    doses = doses.assign(t=ts(doses.scheduled_at))[["administration_id", "patient_ref", "ward_code", "t"]]
    spells = spells.assign(adm=ts(spells.admitted_at), dis=ts(spells.discharged_at).fillna(pd.Timestamp.max))
    j = doses.merge(spells[["patient_ref", "ward_code", "adm", "dis"]], on="patient_ref", suffixes=("", "_spell"))
    j = j[(j.t >= j.adm) & (j.t < j.dis)]
    # a dose of a clean row matches one spell (some spells were dropped as defects)
    assert j.administration_id.is_unique
    assert len(j) > 0.95 * len(doses)
    assert (j.ward_code == j.ward_code_spell).all()


def test_mental_health_trust(tmp_path):
    spec = SimulationSpec(ods_code="RX3", trust_type="mental_health", scale=0.2, start="2016-04", end="2016-07")
    result = simulate_site(spec, tmp_path)
    s = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in result.files[SPELLS]])
    assert set(s.MainSpecialty) <= set(codes.SPECIALTIES["mental_health"])
    assert set(s.Ward) <= {*codes.WARDS["mental_health"], codes.UNKNOWN_WARD}
    assert not s.AdmissionMethod.isin(["31", "32"]).any()
    assert 0.02 * 9000 * 0.2 < len(s) / 4 < 0.08 * 9000 * 0.2
    truth = truth_of(result)
    assert truth["measures"]["mean_los_emergency_days"]["2016-04"]["expected_rate"] > 20


# --- the model -------------------------------------------------------------------------------
def test_injected_effect_is_recovered_from_records(tmp_path):
    effect = {"measure": "omitted_critical_doses_rate", "go_live": "2016-10", "rate_ratio": 0.6}
    spec = SimulationSpec(
        ods_code="RF4", scale=0.04, start="2016-04", end="2017-03", flavour="contract_parquet",
        datasets=(MED,), effects=[effect],
    )  # fmt: skip
    result = simulate_site(spec, tmp_path)
    d = clean_rows(read_dataset(tmp_path, MED, spec.flavour), MED)
    due = d[d.critical_medicine & (d.status != "not_required")]
    after = due.scheduled_at >= pd.Timestamp("2016-10-01")
    rate_before = (due.status[~after] == "omitted").mean()
    rate_after = (due.status[after] == "omitted").mean()
    assert 0.05 < rate_before < 0.1
    truth = truth_of(result)["measures"]["omitted_critical_doses_rate"]
    assert all(v["effect_multiplier"] == pytest.approx(0.6) for m, v in truth.items() if m >= "2016-10")

    def pooled(after: bool, key: str) -> float:
        months = [v for m, v in truth.items() if (m >= "2016-10") == after]
        return sum(v[key] * v["denominator"] for v in months) / sum(v["denominator"] for v in months)

    # the model's own rates (effect, winter peak, trend, month noise) predict what records show
    predicted = pooled(True, "underlying_rate") / pooled(False, "underlying_rate")
    assert rate_after / rate_before == pytest.approx(predicted, rel=0.04)
    assert 0.6 < pooled(True, "expected_rate") / pooled(False, "expected_rate") < 0.72
    # other measures untouched
    delayed = truth_of(result)["measures"]["delayed_critical_doses_rate"]
    assert all(v["effect_multiplier"] == 1 for v in delayed.values())


MONTHS = [dt.date(2016 + (3 + i) // 12, (3 + i) % 12 + 1, 1) for i in range(36)]


@pytest.mark.parametrize("measure", EFFECT_MEASURES)
def test_measure_series_reproduces_expected_rate_on_average(measure):
    k = 1000 if measure.endswith("bed_days") else 1
    ratios = []
    for seed in range(40):
        df = simulate_measure_series(measure, MONTHS, scale=0.5, seed=seed)
        assert list(df.columns) == ["month", "numerator", "denominator", "expected_rate", "effect_multiplier"]
        ratios.append(df.numerator / df.denominator * k / df.expected_rate)
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.01)


def test_measure_series_ramps_the_effect_in():
    df = simulate_measure_series(
        "emergency_readmission_30d_rate", MONTHS, rate_ratio=0.7, go_live=dt.date(2017, 4, 1), ramp_months=3, seed=3
    )
    assert df.effect_multiplier.round(6).tolist()[10:16] == [1, 1, 0.9, 0.8, 0.7, 0.7]
    assert np.allclose(df.effect_multiplier.iloc[14:], 0.7)
    base = simulate_measure_series("emergency_readmission_30d_rate", MONTHS, seed=3)
    assert np.allclose(df.expected_rate, base.expected_rate * df.effect_multiplier)
    assert df.month.tolist() == MONTHS


def test_measure_series_is_seeded():
    a = simulate_measure_series("mean_los_emergency_days", MONTHS[:12], seed=5)
    b = simulate_measure_series("mean_los_emergency_days", MONTHS[:12], seed=5)
    c = simulate_measure_series("mean_los_emergency_days", MONTHS[:12], seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not a.numerator.equals(c.numerator)


def test_seasonality_peaks_in_winter():
    df = simulate_measure_series("omitted_critical_doses_rate", MONTHS[:12])
    peak = df.month[df.expected_rate.idxmax()]
    assert peak.month in (12, 1)


# --- errors and robustness -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ods_code": "rf4!"}, "ods_code"),
        ({"scale": -1}, "scale"),
        ({"flavour": "xlsx"}, "flavour"),
        ({"defect_rate": 0.5}, "defect_rate"),
        ({"effects": [{"measure": "nonsense", "go_live": "2017-01", "rate_ratio": 0.5}]}, "measure"),
        ({"effects": [{"measure": "bed_days", "go_live": "2017-01", "rate_ratio": 0}]}, "rate_ratio"),
        ({"start": "April"}, "start"),
    ],
)
def test_invalid_spec_errors_name_the_field(changes, field):
    with pytest.raises(ValidationError, match=field):
        SimulationSpec(**{**SMALL, **changes})


def test_unsupported_trust_type_and_series_arguments_name_the_field(tmp_path):
    with pytest.raises(ValueError, match="trust_type"):
        simulate_site(SimulationSpec(**SMALL, trust_type="ambulance"), tmp_path)
    with pytest.raises(ValueError, match="measure"):
        simulate_measure_series("bed_days", MONTHS)
    with pytest.raises(ValueError, match="ramp_months"):
        simulate_measure_series("mean_los_emergency_days", MONTHS, ramp_months=0)
    with pytest.raises(ValueError, match="rate_ratio"):
        simulate_measure_series("mean_los_emergency_days", MONTHS, rate_ratio=-1)


def test_interrupted_run_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    spec = SimulationSpec(**SMALL)
    simulate_site(spec, tmp_path)  # a previous complete run
    from pipeline.simulator import render

    calls = {"n": 0}
    real = render.Renderer.table

    def failing(self, rows):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(self, rows)

    monkeypatch.setattr(render.Renderer, "table", failing)
    with pytest.raises(KeyboardInterrupt):
        simulate_site(spec, tmp_path)
    assert not (tmp_path / "ground_truth.json").exists()
    assert not list(tmp_path.rglob("*.tmp"))


def test_tiny_site_with_empty_months_still_writes_every_file(tmp_path):
    spec = SimulationSpec(ods_code="RF4", scale=0.0001, start="2016-04", end="2016-06", flavour="contract_parquet")
    result = simulate_site(spec, tmp_path)
    truth = truth_of(result)
    for dataset in SIMULATED_DATASETS:
        assert len(result.files[dataset]) == 3
        for f, rec in zip(result.files[dataset], truth["files"][dataset].values(), strict=True):
            assert pq.read_metadata(f).num_rows == rec["rows"]


def test_a_month_without_admissions(tmp_path):
    # A mental health trust at scale 0.0127 admits about 5 spells a month; with this seed nobody
    # is admitted in December 2016, which crashed the spell process (an empty Frame lost its
    # columns) and left the site out of a validity run.
    spec = SimulationSpec(ods_code="Q95", trust_type="mental_health", seed=9895, scale=0.0127, start="2016-04",
                          end="2017-03", datasets=(SPELLS,))  # fmt: skip
    simulate_site(spec, tmp_path)
    admitted = ts(read_dataset(tmp_path, SPELLS, "local_csv").admitted_at).dt.strftime("%Y-%m").value_counts()
    assert "2016-12" not in admitted.index
    assert admitted.get("2017-01", 0) > 0 and admitted.get("2017-03", 0) > 0
