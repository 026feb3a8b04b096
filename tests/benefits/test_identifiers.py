"""Patient identifiers are refused in evidence items: NHS numbers by their Modulus 11 check digit,
dates of birth by the words beside them; ordinary numbers and dates pass."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from benefits.identifiers import nhs_number_valid, patient_identifiers
from benefits.register import Benefit

BASE = dict(id="X-1", title="t", measure="omitted_critical_doses_rate", go_live="2018-01",
            baseline={"start": "2017-01", "end": "2017-12"})  # fmt: skip


@pytest.mark.parametrize(
    "digits, valid",
    [("9434765919", True), ("4010232137", True), ("9434765918", False), ("9434765910", False), ("123456789", False)],
)
def test_modulus_11_check_digit(digits, valid):
    assert nhs_number_valid(digits) is valid


@pytest.mark.parametrize(
    "text",
    ["Mrs A (943 476 5919) wrote to thank the ward", "NHS no 943-476-5919", "ref 9434765919",
     "DOB: 01/02/1960, admitted twice", "born on 3 March 1950", "Date of birth 1950-03-03"],
)  # fmt: skip
def test_identifiers_are_found(text):
    assert patient_identifiers(text)


@pytest.mark.parametrize(
    "text",
    ["omissions fell from 152 to 98 a month", "call 020 7946 0000", "since 01/02/2018 the round is calmer",
     "943 476 5918 is not a valid number"],
)  # fmt: skip
def test_ordinary_numbers_and_dates_pass(text):
    assert patient_identifiers(text) == []


def test_an_evidence_item_with_an_nhs_number_is_refused_with_a_reason():
    with pytest.raises(ValidationError, match="NHS number .*Modulus 11.*remove patient identifiers"):
        Benefit(**BASE, evidence=[{"date": "2018-06-01", "kind": "quote", "text": "Mr X, 943 476 5919, thanked us",
                                    "author": "PALS"}])  # fmt: skip
    ok = Benefit(**BASE, evidence=[{"date": "2018-06-01", "kind": "survey", "text": "82% of nurses (n=41) prefer it",
                                     "author": "Nursing survey", "share": True}])  # fmt: skip
    assert ok.evidence[0].share and ok.evidence[0].kind == "survey"
