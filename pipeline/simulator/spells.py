"""Inpatient spells as one process over the months: admissions, stays, discharges, readmissions.

Each spell's length of stay, discharge and destination are drawn at admission, so a
month's spells file is complete when written (a discharge after the simulated period is
written empty). A live discharge is followed by an emergency readmission of the same
patient within 28 days with the readmission rate of its discharge month; readmissions due
in later months are carried as pending. New patients get fresh refs, so every return
within 30 days is a deliberate readmission and the measure recovers the injected rate.
The truth counts readmissions by the measure's rule over the clean rows, not by this causal
link: when a readmission's row is quarantined, the patient's next clean spell (a readmission
of that readmission) still readmits the earlier clean discharge if it comes within 30 days.
The hospital starts empty (no spells before the first month are invented).

The spells in hospital (the "pool") and their regimen lines feed doses and incidents.
"""

from __future__ import annotations

import numpy as np

from . import codes, defects
from .doses import regimens
from .frame import DAY, NULL_TIME, Frame, epoch_seconds, midnights, weekday
from .profiles import HOURS_DISCHARGE, TrustProfile, profile
from .rates import MeasurePath, draw_los_days, volume_mean
from .seeding import rng
from .spec import SimulationSpec
from .truth import Tally

DATASET = "inpatient_spells"
READMIT_MIN_SECONDS = 2 * 3600
READMIT_MAX_SECONDS = 28 * DAY  # inside any 30-day window, however it is counted
READMIT_WINDOW_SECONDS = 30 * DAY  # the measure's window: admitted_at <= discharged_at + 30 days


class Calendar:
    """Epoch-second boundaries of the simulated months."""

    def __init__(self, spec: SimulationSpec):
        self.months = spec.months()
        last = self.months[-1]
        after = last.replace(year=last.year + (last.month == 12), month=last.month % 12 + 1)
        self.starts = np.array([epoch_seconds(m) for m in self.months] + [epoch_seconds(after)], dtype=np.int64)
        self.end = int(self.starts[-1])

    def month_of(self, t: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, t, side="right") - 1


def _probs(weights) -> np.ndarray:
    w = np.asarray(list(weights), dtype=float)
    return w / w.sum()


class SpellProcess:
    def __init__(self, spec: SimulationSpec, cal: Calendar, paths: dict[str, MeasurePath], tally: Tally):
        self.spec, self.cal, self.tally = spec, cal, tally
        self.p: TrustProfile = profile(spec.trust_type)
        tt = spec.trust_type
        self.wards = codes.WARDS[tt]
        self.specialties = codes.SPECIALTIES[tt]
        self.unknown_ward = len(self.wards)
        self.volumes = [volume_mean(paths[g.volume], spec.scale) for g in self.p.groups]
        self.los_rate = paths["mean_los_emergency_days"].rate
        self.los_multiplier = paths["mean_los_emergency_days"].multiplier
        self.readmit_rate = paths["emergency_readmission_30d_rate"].rate
        groups = self.p.groups
        self.g_emergency = np.array([g.name == "emergency" for g in groups])
        self.g_los = np.array([g.los_mean or 0.0 for g in groups])
        self.g_shape = np.array([g.los_shape for g in groups])
        self.g_died = np.array([g.died for g in groups])
        self.emergency_group = int(np.flatnonzero(self.g_emergency)[0])
        self.live_dest = np.array([codes.DISCHARGE_DESTINATION_CODES.index(c) for c in self.p.live_destinations])
        self.live_dest_p = _probs(self.p.live_destinations.values())
        self.ward_choice = {
            self.specialties.index(s): (np.array([self.wards.index(w) for w in ws]), _probs(ws.values()))
            for s, ws in self.p.ward_weights.items()
        }
        self.next_patient = 1
        self.next_spell = 1
        self.pending = Frame(
            admit=np.zeros(0, np.int64),
            patient=np.zeros(0, np.int64),
            claim_month=np.zeros(0, np.int64),
            claim_time=np.zeros(0, np.int64),
        )
        self.pool = Frame(
            admit=np.zeros(0, np.int64),
            discharge=np.zeros(0, np.int64),
            patient=np.zeros(0, np.int64),
            ward=np.zeros(0, np.int16),
        )
        self.lines = regimens(np.random.default_rng(0), 0, 0)

    # --- one month -----------------------------------------------------------------------
    def month(self, i: int) -> tuple[Frame, np.ndarray]:
        """Admit month i's spells; return them (sorted by admission) and their defect kinds."""
        m = self.cal.months[i]
        ms, mn = int(self.cal.starts[i]), int(self.cal.starts[i + 1])
        gen = rng(self.spec.seed, self.spec.ods_code, DATASET, m)
        due = self.pending["admit"] < mn
        batch = Frame.concat([self._new_admissions(gen, i, ms, mn), self._readmissions(gen, self.pending.take(due))])
        self.pending = self.pending.take(~due)
        batches, later, offset = [], [], 0
        while True:  # readmissions inside the month can themselves be readmitted
            batch = self._stays(gen, i, batch)
            batches.append(batch)
            back = self._returns(gen, batch, offset)
            offset += len(batch)
            inside = back["admit"] < mn
            later.append(back.take(~inside))
            if not inside.any():
                break
            batch = self._readmissions(gen, back.take(inside))
        rows = Frame.concat(batches)
        order = np.argsort(rows["admit"], kind="stable")
        where = np.empty(len(order), np.int64)
        where[order] = np.arange(len(order))

        defect_rng = rng(self.spec.seed, self.spec.ods_code, DATASET, m, "defects")
        kinds = defects.draw(defect_rng, len(rows), self.spec.defect_rate, DATASET)
        clean = defects.is_clean(kinds)
        # Claims are resolved in generation order (a readmission's index row is in an earlier
        # batch), before the sort, because a row's claim can come from its index row's claim.
        ends = np.cumsum([len(b) for b in batches])
        clean_here = clean[where]
        for a, b in zip(ends[:-1], ends[1:]):
            rows["claim_month"][a:b], rows["claim_time"][a:b] = self._claim(rows, clean_here, rows["index_pos"][a:b])
        later = Frame.concat(later)
        if len(later):
            later["claim_month"], later["claim_time"] = self._claim(rows, clean_here, later.pop("index_pos"))
            self.pending = Frame.concat([self.pending, later])
            self.pending = self.pending.take(np.argsort(self.pending["admit"], kind="stable"))
        rows = rows.take(order)
        rows["number"] = self.next_spell + np.arange(len(rows), dtype=np.int64)
        self.next_spell += len(rows)
        self._count(i, rows, clean)
        self._admit_to_pool(rows, m)
        return rows, kinds

    def written(self, rows: Frame) -> Frame:
        """Rows as the extract shows them: no discharge yet if it falls after the period."""
        out = Frame(rows)
        still_in = rows["discharge"] >= self.cal.end
        out["discharge"] = np.where(still_in, NULL_TIME, rows["discharge"])
        out["destination"] = np.where(still_in, -1, rows["destination"]).astype(np.int8)
        return out

    def discharge_from_pool(self, i: int) -> None:
        keep = self.pool["discharge"] > self.cal.starts[i + 1]
        self.pool = self.pool.take(keep)
        keep_line = keep[self.lines["spell"]]
        self.lines = self.lines.take(keep_line)
        self.lines["spell"] = (np.cumsum(keep) - 1)[self.lines["spell"]]

    # --- pieces --------------------------------------------------------------------------
    def _new_admissions(self, gen, i: int, ms: int, mn: int) -> Frame:
        n_days = (mn - ms) // DAY
        wd = weekday(ms // DAY + np.arange(n_days))
        parts = []
        for g_idx, g in enumerate(self.p.groups):
            n = int(gen.poisson(self.volumes[g_idx][i]))
            day = gen.choice(n_days, n, p=_probs(np.array(g.weekdays)[wd]))
            tod = gen.choice(24, n, p=_probs(g.hours)) * 3600 + gen.integers(60, 3540, n)
            methods = np.array([codes.ADMISSION_METHOD_CODES.index(c) for c in g.methods])
            specs = np.array([self.specialties.index(s) for s in g.specialties])
            parts.append(
                Frame(
                    admit=ms + day * DAY + tod,
                    group=np.full(n, g_idx, np.int8),
                    method=methods[gen.choice(len(methods), n, p=_probs(g.methods.values()))].astype(np.int8),
                    specialty=specs[gen.choice(len(specs), n, p=_probs(g.specialties.values()))].astype(np.int16),
                    patient=np.zeros(n, np.int64),
                )
            )
        new = Frame.concat(parts)
        n = len(new)
        new["patient"] = self.next_patient + np.arange(n, dtype=np.int64)
        self.next_patient += n
        new["index_pos"] = np.full(n, -1, np.int64)
        new["claim_month"] = np.full(n, -1, np.int64)
        new["claim_time"] = np.zeros(n, np.int64)
        return new

    def _readmissions(self, gen, back: Frame) -> Frame:
        n = len(back)
        specs = np.array([self.specialties.index(s) for s in self.p.readmission_specialties])
        return Frame(
            admit=back["admit"],
            group=np.full(n, self.emergency_group, np.int8),
            method=np.full(n, codes.ADMISSION_METHOD_CODES.index(self.p.readmission_method), np.int8),
            specialty=specs[gen.choice(len(specs), n, p=_probs(self.p.readmission_specialties.values()))].astype(
                np.int16
            ),
            patient=back["patient"],
            # Rows returning inside this month get their claim in month(), once defects are drawn.
            index_pos=back["index_pos"] if "index_pos" in back else np.full(n, -1, np.int64),
            claim_month=back["claim_month"] if "claim_month" in back else np.full(n, -1, np.int64),
            claim_time=back["claim_time"] if "claim_time" in back else np.zeros(n, np.int64),
        )

    def _stays(self, gen, i: int, b: Frame) -> Frame:
        n, g = len(b), b["group"]
        emergency = self.g_emergency[g]
        mean = np.where(emergency, self.los_rate[i], self.g_los[g])
        los = draw_los_days(gen, mean, self.g_shape[g])
        adm_tod = b["admit"] % DAY
        out_tod = gen.choice(24, n, p=_probs(HOURS_DISCHARGE)) * 3600 + gen.integers(60, 3540, n)
        # Same-day discharges leave after they arrive, still before midnight.
        same_day = adm_tod + 1 + (gen.random(n) * (DAY - 2 - adm_tod)).astype(np.int64)
        discharge = (b["admit"] // DAY + los) * DAY + np.where(los == 0, same_day, out_tod)
        died = gen.random(n) < self.g_died[g]
        dest = self.live_dest[gen.choice(len(self.live_dest), n, p=self.live_dest_p)]
        ward = np.zeros(n, np.int16)
        for s in np.unique(b["specialty"]):
            sel = np.flatnonzero(b["specialty"] == s)
            wards, p = self.ward_choice[int(s)]
            ward[sel] = wards[gen.choice(len(wards), len(sel), p=p)]
        return Frame(
            b,
            los=los,
            discharge=discharge,
            destination=np.where(died, codes.DIED, dest).astype(np.int8),
            ward=ward,
            emergency=emergency,
        )

    def _returns(self, gen, b: Frame, offset: int) -> Frame:
        """Readmissions that follow this batch's live discharges inside the period."""
        n = len(b)
        dis_month = self.cal.month_of(b["discharge"])
        eligible = (b["destination"] != codes.DIED) & (b["discharge"] < self.cal.end)
        u = gen.random(n)
        back = np.flatnonzero(eligible & (u < self.readmit_rate[np.clip(dis_month, 0, len(self.readmit_rate) - 1)]))
        span = READMIT_MAX_SECONDS - READMIT_MIN_SECONDS
        delay = READMIT_MIN_SECONDS + (gen.beta(1.2, 3.0, len(back)) * span).astype(np.int64)
        admit = b["discharge"][back] + delay
        admit += admit % DAY == 0  # never exactly midnight
        keep = admit < self.cal.end
        back = back[keep]
        return Frame(
            admit=admit[keep],
            patient=b["patient"][back],
            index_pos=offset + back,
        )

    def _claim(self, rows: Frame, clean: np.ndarray, index_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The claim (discharge month and time) of readmissions whose index spells are rows[index_pos]:
        the patient's latest clean live discharge that no clean spell has followed yet. It is the
        index spell itself when that row is clean; a quarantined index row never reaches the
        pipeline, so its own claim passes on."""
        own = clean[index_pos]
        discharge = rows["discharge"][index_pos]
        month = np.where(own, self.cal.month_of(discharge), rows["claim_month"][index_pos])
        return month, np.where(own, discharge, rows["claim_time"][index_pos])

    def _count(self, i: int, rows: Frame, clean: np.ndarray) -> None:
        t = self.tally
        # The measure's rule over clean rows: a live discharge is readmitted when the patient's
        # next clean spell (every readmission is an emergency admission) comes within 30 days.
        # A clean spell uses up its claim, so a discharge counts once.
        readmission = (
            clean & (rows["claim_month"] >= 0) & (rows["admit"] - rows["claim_time"] <= READMIT_WINDOW_SECONDS)
        )
        t.add("emergency_readmission_30d_rate", rows["claim_month"][readmission], num=1)
        ended = clean & (rows["discharge"] < self.cal.end)
        dis_month = self.cal.month_of(rows["discharge"])
        live = ended & (rows["destination"] != codes.DIED)
        t.add("emergency_readmission_30d_rate", dis_month[live], den=1)
        em = ended & rows["emergency"]
        t.add("mean_los_emergency_days", dis_month[em], num=rows["los"][em], den=1)
        # These rows were admitted in month i, whose multiplier shortened their stays, whichever
        # month they leave in: a spell admitted before go-live and discharged after it was not.
        t.add_without_effect("mean_los_emergency_days", dis_month[em], rows["los"][em] / self.los_multiplier[i])
        admit, discharge = rows["admit"][clean], rows["discharge"][clean]
        for j in range(i, len(self.cal.months)):
            nights, _ = midnights(admit, discharge, self.cal.starts[j] // DAY, self.cal.starts[j + 1] // DAY)
            t.add("bed_days", j, num=nights.sum())
            if not (discharge > self.cal.starts[j + 1]).any():
                break

    def _admit_to_pool(self, rows: Frame, month) -> None:
        gen = rng(self.spec.seed, self.spec.ods_code, "regimens", month)
        lines = regimens(gen, len(rows), len(self.pool))
        arrived = Frame({k: rows[k] for k in ("admit", "discharge", "patient", "ward")})
        self.pool = Frame.concat([self.pool, arrived])
        self.lines = Frame.concat([self.lines, lines]) if len(self.lines) else lines
