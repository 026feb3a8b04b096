"""Patient identifiers that must not enter free text kept beside the figures (evidence items).

An NHS number is ten digits whose last is the Modulus 11 check digit of the first nine (NHS Data
Dictionary, "NHS Number"); written as 3-3-4 with spaces or hyphens, or run together. A date of
birth is a date next to words that say so ("DOB", "date of birth", "born"). Both checks are for
obvious slips: they cannot prove a text is anonymous.
"""

from __future__ import annotations

import re

_TEN_DIGITS = re.compile(r"(?<![\d])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![\d])")
_DATE = r"\d{1,2}[/.\- ]\d{1,2}[/.\- ]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2} [A-Za-z]{3,9} \d{4}"
_BIRTH = re.compile(rf"\b(d\.?\s?o\.?\s?b\.?|date of birth|born(?: on)?)\s*[:\-]?\s*({_DATE})", re.IGNORECASE)


def nhs_number_valid(digits: str) -> bool:
    """True when ten digits carry a correct Modulus 11 check digit."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def patient_identifiers(text: str) -> list[str]:
    """What in `text` looks like a patient identifier, in words (empty when nothing does)."""
    found = []
    for m in _TEN_DIGITS.finditer(text):
        if nhs_number_valid("".join(m.groups())):
            found.append(f"an NHS number ({m.group(0)[:3]}..., passes the Modulus 11 check)")
    for m in _BIRTH.finditer(text):
        found.append(f"a date of birth ({m.group(1)} {m.group(2)[:2]}...)")
    return found
