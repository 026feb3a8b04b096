"""Turn internal rows (integer codes, epoch seconds) into Arrow tables of either flavour.

`contract_parquet`: the contract's column names, Arrow types and code values.
`local_csv`: the local column names and codes of `codes.LOCAL_COLUMNS`; timestamps as
second-resolution Arrow timestamps, which the CSV writer prints as YYYY-MM-DD HH:MM:SS.
Key strings are built as fixed-width byte matrices, which is far faster than formatting.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dataset_contracts.contracts import get_contract

from . import codes
from .frame import NULL_TIME, Frame

_CRITICAL = np.array([d.critical for d in codes.DRUGS])
_UNIT = np.array([d.unit for d in codes.DRUGS], np.int8)


def fixed_width(prefix: str, numbers: np.ndarray, digits: int, valid: np.ndarray | None = None) -> pa.Array:
    """prefix + zero-padded numbers as a string array; null where not valid."""
    n = len(numbers)
    if n:
        digits = max(digits, len(str(int(numbers.max()))))
    head = np.frombuffer(prefix.encode(), np.uint8)
    width = len(head) + digits
    data = np.empty((n, width), np.uint8)
    data[:, : len(head)] = head
    x = np.maximum(numbers, 0).astype(np.int64)
    for k in range(width - 1, len(head) - 1, -1):
        data[:, k] = 48 + x % 10
        x //= 10
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    null_count = 0
    if valid is not None and not valid.all():
        buffers[0] = pa.py_buffer(np.packbits(valid, bitorder="little"))
        null_count = int(n - valid.sum())
    return pa.StringArray.from_buffers(n, buffers[1], buffers[2], buffers[0], null_count)


def coded(values: tuple, idx: np.ndarray, type_: pa.DataType = pa.string()) -> pa.Array:
    """values[idx], null where idx < 0."""
    idx = np.asarray(idx)
    indices = pa.array(np.maximum(idx, 0).astype(np.int32), mask=idx < 0)
    return pa.array(list(values), type_).take(indices)


def times(seconds: np.ndarray, contract: bool) -> pa.Array:
    mask = seconds == NULL_TIME
    if contract:
        return pa.array(seconds * 1_000_000, pa.timestamp("us"), mask=mask)
    return pa.array(seconds, pa.timestamp("s"), mask=mask)


class Renderer:
    """Builds one dataset's tables for one site in one flavour."""

    def __init__(self, dataset: str, flavour: str, ods_code: str, trust_type: str):
        self.dataset, self.ods = dataset, ods_code
        self.contract = flavour == "contract_parquet"
        self.wards = codes.wards_with_unknown(trust_type)
        self.specialties = codes.SPECIALTIES[trust_type]
        contract = get_contract(dataset)
        if self.contract:
            self.schema = contract.arrow_schema()
            self.header = contract.column_names
        else:
            local = codes.LOCAL_COLUMNS[dataset]
            self.header = list(local)
            self.schema = pa.schema(
                [pa.field(name, self._local_type(contract.column(col).type)) for name, col in local.items()]
            )

    @staticmethod
    def _local_type(logical: str) -> pa.DataType:
        return {"timestamp": pa.timestamp("s"), "double": pa.float64()}.get(logical, pa.string())

    def _pick(self, local: tuple, national: tuple, idx: np.ndarray) -> pa.Array:
        return coded(national if self.contract else local, idx)

    def table(self, rows: Frame) -> pa.Table:
        n = len(rows)
        c = self.contract
        prefix = f"{self.ods}-{codes.ID_PREFIXES[self.dataset]}-"
        key = fixed_width(prefix, rows["number"], codes.ID_DIGITS, rows["number"] >= 0)
        site = pa.repeat(pa.scalar(self.ods, pa.string()), n)
        ward = coded(self.wards, rows["ward"])
        if self.dataset == "medication_administrations":
            drug = rows["drug"]
            crit = _CRITICAL[drug]
            m = codes.LOCAL_CODE_MAPS[self.dataset]
            cols = [
                key,
                site,
                fixed_width(f"{self.ods}-P", rows["patient"], codes.PATIENT_DIGITS),
                ward,
                coded(codes.DRUG_CODES, drug),
                pa.array(crit, pa.bool_()) if c else coded(("N", "Y"), crit.astype(np.int8)),
                times(rows["scheduled"], c),
                times(rows["administered"], c),
                self._pick(codes.DOSE_STATUS_CODES, tuple(m["status"].values()), rows["status"]),
                self._pick(codes.OMISSION_REASON_CODES, codes.OMISSION_REASONS, rows["reason"]),
                pa.array(rows["dose_value"], pa.float64()),
                self._pick(
                    codes.DOSE_UNIT_CODES,
                    tuple(m["dose_unit"].values()),
                    _UNIT[drug],
                ),
            ]
        elif self.dataset == "patient_safety_incidents":
            m = codes.LOCAL_CODE_MAPS[self.dataset]
            cols = [
                key,
                site,
                ward,
                times(rows["occurred"], c),
                times(rows["reported"], c),
                self._pick(codes.INCIDENT_TYPE_CODES, tuple(m["category"].values()), rows["category"]),
                self._pick(codes.HARM_CODES, tuple(m["harm_level"].values()), rows["harm"]),
                self._pick(codes.MEDICATION_STAGE_CODES, tuple(m["medication_stage"].values()), rows["stage"]),
            ]
        else:
            cols = [
                key,
                site,
                fixed_width(f"{self.ods}-P", rows["patient"], codes.PATIENT_DIGITS),
                ward,
                times(rows["admit"], c),
                times(rows["discharge"], c),
                self._pick(codes.ADMISSION_METHOD_CODES, codes.ADMISSION_METHOD_GROUPS, rows["method"]),
                coded(self.specialties, rows["specialty"]),
                self._pick(
                    codes.DISCHARGE_DESTINATION_CODES, codes.DISCHARGE_DESTINATION_GROUPS, rows["destination"]
                ),
            ]
        return pa.Table.from_arrays(cols, schema=self.schema)
