"""Code lists of the simulated trust systems and how their local codes map to the contracts.

Site configs and tests import these, so they are public and stable: the `local_csv`
flavour uses the local column names and codes below, `contract_parquet` the contract's.
Internally the simulator carries every coded field as an integer index into one of
these tuples (``-1`` = null), so rendering a flavour is a single `take`.
"""

from __future__ import annotations

from dataclasses import dataclass

from dataset_contracts.contracts import (
    ADMISSION_METHODS,
    DISCHARGE_DESTINATIONS,
    DOSE_STATUSES,
    DOSE_UNITS,
    HARM_LEVELS,
    INCIDENT_CATEGORIES,
    MEDICATION_STAGES,
)

SIMULATED_TRUST_TYPES = ("acute", "mental_health")

WARDS: dict[str, tuple[str, ...]] = {
    "acute": ("AMU", "CCU", "ICU", "SAU", *(f"W{i:02d}" for i in range(1, 21))),
    "mental_health": tuple(f"MH{i:02d}" for i in range(1, 9)),
}
# In no site's mapping on purpose: the `unknown_code` defect.
UNKNOWN_WARD = "ZZ99"

SPECIALTIES: dict[str, tuple[str, ...]] = {
    "acute": ("100", "101", "110", "120", "130", "300", "301", "320", "340", "400", "430", "501", "502"),
    "mental_health": ("710", "711", "712", "715"),
}

# Local column name -> contract column name, in file order.
LOCAL_COLUMNS: dict[str, dict[str, str]] = {
    "medication_administrations": {
        "AdministrationID": "administration_id",
        "SiteCode": "site_code",
        "PatientID": "patient_ref",
        "WardCode": "ward_code",
        "DrugCode": "drug_code",
        "CriticalMedicine": "critical_medicine",
        "ScheduledTime": "scheduled_at",
        "AdministeredTime": "administered_at",
        "Status": "status",
        "OmissionReason": "omission_reason",
        "DoseValue": "dose_value",
        "DoseUnit": "dose_unit",
    },
    "patient_safety_incidents": {
        "IncidentRef": "incident_id",
        "Site": "site_code",
        "Location": "ward_code",
        "DateOccurred": "occurred_at",
        "DateReported": "reported_at",
        "IncidentType": "category",
        "Harm": "harm_level",
        "MedicationStage": "medication_stage",
    },
    "inpatient_spells": {
        "SpellID": "spell_id",
        "Provider": "site_code",
        "PatientID": "patient_ref",
        "Ward": "ward_code",
        "AdmissionDateTime": "admitted_at",
        "DischargeDateTime": "discharged_at",
        "AdmissionMethod": "admission_method",
        "MainSpecialty": "main_specialty_code",
        "DischargeDestination": "discharge_destination",
    },
}
LOCAL_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# Local code tuples; the position is the simulator's internal index.
DOSE_STATUS_CODES = ("GIVEN", "OMITTED", "REFUSED", "NOT_REQUIRED")
OMISSION_REASON_CODES = ("NBM", "PATAWAY", "UNAVAIL", "CLIN", "DECLINED")
OMISSION_REASONS = ("nil_by_mouth", "patient_away", "unavailable", "clinical_reason", "patient_declined")
DOSE_UNIT_CODES = ("mg", "g", "mcg", "ml", "unit", "dose")
INCIDENT_TYPE_CODES = ("MED", "PTID", "FALL", "PU", "DET", "OTH")
HARM_CODES = ("NONE", "LOW", "MODERATE", "SEVERE", "DEATH")
MEDICATION_STAGE_CODES = ("PRESC", "DISP", "ADMIN", "MON")
ADMISSION_METHOD_CODES = ("11", "12", "13", "21", "22", "23", "24", "28", "31", "32", "81")
ADMISSION_METHOD_GROUPS = (
    "elective", "elective", "elective",
    "emergency", "emergency", "emergency", "emergency", "emergency",
    "maternity", "maternity",
    "other",
)  # fmt: skip
DISCHARGE_DESTINATION_CODES = ("19", "29", "54", "65", "51", "52", "53", "79", "98")
DISCHARGE_DESTINATION_GROUPS = (
    "home", "home", "care_home", "care_home",
    "other_provider", "other_provider", "other_provider", "died", "other",
)  # fmt: skip
DIED = DISCHARGE_DESTINATION_CODES.index("79")

# Local code -> contract value, per dataset and contract column.
LOCAL_CODE_MAPS: dict[str, dict[str, dict[str, object]]] = {
    "medication_administrations": {
        "critical_medicine": {"Y": True, "N": False},
        "status": dict(zip(DOSE_STATUS_CODES, DOSE_STATUSES, strict=True)),
        "omission_reason": dict(zip(OMISSION_REASON_CODES, OMISSION_REASONS, strict=True)),
        "dose_unit": dict(zip(DOSE_UNIT_CODES, DOSE_UNITS, strict=True)),
    },
    "patient_safety_incidents": {
        "category": dict(zip(INCIDENT_TYPE_CODES, INCIDENT_CATEGORIES, strict=True)),
        "harm_level": dict(zip(HARM_CODES, HARM_LEVELS, strict=True)),
        "medication_stage": dict(zip(MEDICATION_STAGE_CODES, MEDICATION_STAGES, strict=True)),
    },
    "inpatient_spells": {
        "admission_method": dict(zip(ADMISSION_METHOD_CODES, ADMISSION_METHOD_GROUPS, strict=True)),
        "discharge_destination": dict(zip(DISCHARGE_DESTINATION_CODES, DISCHARGE_DESTINATION_GROUPS, strict=True)),
    },
}

# Key prefixes: ids look like RF4-MA-000000001, patient refs like RF4-P0001234.
ID_PREFIXES = {"medication_administrations": "MA", "patient_safety_incidents": "IN", "inpatient_spells": "SP"}
ID_DIGITS = 9
PATIENT_DIGITS = 7


@dataclass(frozen=True)
class Drug:
    code: str  # dm+d style numeric code (illustrative, not a dm+d lookup)
    name: str
    critical: bool
    unit: int  # index into DOSE_UNIT_CODES
    doses: tuple[float, ...]  # typical dose amounts
    per_day: int  # scheduled administrations a day
    weight: float  # relative chance a regimen includes it


_MG, _G, _MCG, _ML, _UNIT, _DOSE = range(6)

DRUGS: tuple[Drug, ...] = (
    Drug("322236009", "paracetamol", False, _MG, (500.0, 1000.0), 4, 9.0),
    Drug("317972000", "omeprazole", False, _MG, (20.0, 40.0), 1, 5.0),
    Drug("320000009", "atorvastatin", False, _MG, (20.0, 40.0, 80.0), 1, 4.0),
    Drug("319283006", "amlodipine", False, _MG, (5.0, 10.0), 1, 3.0),
    Drug("318900006", "ramipril", False, _MG, (2.5, 5.0, 10.0), 1, 2.5),
    Drug("318264004", "bisoprolol", False, _MG, (1.25, 2.5, 5.0), 1, 3.0),
    Drug("317290009", "furosemide", False, _MG, (20.0, 40.0), 2, 3.0),
    Drug("317517004", "senna", False, _MG, (7.5, 15.0), 2, 4.0),
    Drug("320371002", "lactulose", False, _ML, (10.0, 15.0), 2, 3.0),
    Drug("325278007", "metformin", False, _MG, (500.0, 1000.0), 2, 2.5),
    Drug("321950006", "sertraline", False, _MG, (50.0, 100.0), 1, 1.5),
    Drug("326113002", "adcal-d3", False, _DOSE, (1.0,), 2, 2.0),
    Drug("320149003", "salbutamol nebuliser liquid", False, _MG, (2.5, 5.0), 4, 3.0),
    Drug("320176001", "ipratropium nebuliser liquid", False, _MCG, (250.0, 500.0), 4, 2.0),
    Drug("319740004", "aspirin", False, _MG, (75.0,), 1, 3.0),
    Drug("318135005", "levothyroxine", False, _MCG, (25.0, 50.0, 100.0), 1, 2.0),
    Drug("326708003", "thiamine", False, _MG, (100.0,), 3, 1.0),
    Drug("317919004", "sodium chloride 0.9% flush", False, _ML, (10.0,), 4, 3.0),
    Drug("322504004", "morphine sulfate oral solution", False, _MG, (2.5, 5.0), 4, 1.5),
    Drug("320380008", "macrogol oral powder", False, _DOSE, (1.0, 2.0), 2, 2.5),
    Drug("325242004", "insulin aspart", True, _UNIT, (4.0, 6.0, 8.0, 10.0), 3, 1.5),
    Drug("325072002", "insulin glargine", True, _UNIT, (10.0, 14.0, 20.0), 1, 1.0),
    Drug("317630005", "enoxaparin", True, _MG, (40.0, 80.0), 1, 4.0),
    Drug("319775003", "apixaban", True, _MG, (2.5, 5.0), 2, 1.5),
    Drug("319733000", "warfarin", True, _MG, (1.0, 3.0, 5.0), 1, 1.0),
    Drug("321971009", "levetiracetam", True, _MG, (250.0, 500.0, 1000.0), 2, 1.0),
    Drug("322009000", "sodium valproate", True, _MG, (200.0, 500.0), 2, 0.5),
    Drug("321855003", "co-careldopa", True, _DOSE, (1.0,), 4, 0.7),
    Drug("323509004", "co-amoxiclav intravenous", True, _G, (1.2,), 3, 2.0),
    Drug("324366009", "piperacillin with tazobactam", True, _G, (4.5,), 3, 1.0),
    Drug("326285000", "hydrocortisone", True, _MG, (20.0, 100.0), 2, 0.7),
    Drug("321665008", "clozapine", True, _MG, (100.0, 200.0), 2, 0.4),
)
DRUG_CODES = tuple(d.code for d in DRUGS)

# Daily slots (hours) for 1-4 administrations a day, as ward drug rounds run them.
DOSE_SLOTS_BY_FREQUENCY = {1: (8,), 2: (8, 20), 3: (8, 14, 22), 4: (6, 12, 18, 22)}


def wards_with_unknown(trust_type: str) -> tuple[str, ...]:
    """The ward dictionary a rendered extract indexes into; the last entry is UNKNOWN_WARD."""
    return (*WARDS[trust_type], UNKNOWN_WARD)
