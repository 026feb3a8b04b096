"""The NHS financial calendar: years start on 1 April; quarters are Apr-Jun, Jul-Sep, Oct-Dec, Jan-Mar."""

from __future__ import annotations

import datetime as dt


def financial_year(month: dt.date) -> str:
    start = month.year if month.month >= 4 else month.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def financial_quarter(month: dt.date) -> int:
    return (month.month - 4) % 12 // 3 + 1


def financial_year_start(month: dt.date) -> dt.date:
    return dt.date(month.year if month.month >= 4 else month.year - 1, 4, 1)


def quarter_start(month: dt.date) -> dt.date:
    first = 4 + 3 * (financial_quarter(month) - 1)  # 4, 7, 10, 13
    return dt.date(financial_year_start(month).year + (first - 1) // 12, (first - 1) % 12 + 1, 1)
