"""Small-number suppression for the national mart: primary and complementary (secondary).

What is published, per national measure, is a lattice of sums of one table of cells
(organisation x month, each with a numerator and a denominator):

    organisation x {month, financial quarter, financial year}
    region       x {financial quarter, financial year}
    trust type   x {financial quarter, financial year}

It is protected in two stages, so that each organisation's figures can be protected by the
organisation itself, with nothing but its own data (federated reporting, docs/federation.md),
and the national figures are the same whether suppression ran in one warehouse or at each trust:

1. Each organisation's own lattice (its months, quarters and year) on its own. Primary
   suppression withholds every entry whose numerator or denominator is a count from 1 to the
   threshold. Withholding alone is not enough (a withheld month is the quarter minus the other
   two months), so complementary suppression runs to a fixed point:
   a. greedy, per identity (parent = sum of children): an identity with exactly one withheld
      member gets a second one, the smallest non-zero sibling (or the parent);
   b. audit, exactly: with the withheld organisation-months as unknowns, every published entry
      is a linear equation. A withheld entry is derivable when its indicator vector lies in the
      row space of those equations (checked per connected component by SVD null space); and,
      using non-negativity and the 1..threshold range a "small_count" reason reveals, when a
      published equation pins its withheld members to their bounds (e.g. they sum to 0).
      Each derivable entry gets a further complement and the loop repeats.
   Withholding only ever grows, so the loop ends (at worst with everything withheld).
2. Region and trust-type totals are published only when every member organisation's figure
   for that period is published (`member_withheld` otherwise). A published total is then a sum
   of published figures and tells a reader nothing new, so no organisation's figure is ever
   withheld because of another organisation's small count.

The national benefit tables (pipeline/marts/realise.py, publish_national and publish_unplanned)
withhold the same organisation-months, and with them every figure over a window of months that
holds one (a mean, a process limit, a running total since go-live and the benefit and value made
from it): two windows that differ by a withheld month would give it back by subtraction, exactly
as a quarter minus two published months would.

A measure whose denominator is another measure's numerator (`denominator_measure` in its SQL
header: the incident rates show bed days) also withholds whatever that measure withholds, so the
shared count cannot be read from it (`shared_count`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.marts.fiscal import financial_year_start, quarter_start
from pipeline.marts.suppression_audit import derivable

log = logging.getLogger(__name__)

REASONS = {
    "small_count": "the numerator or denominator is a count from 1 to the suppression threshold (primary suppression)",
    "complementary": (
        "withheld so that a withheld count cannot be recovered by subtraction from published figures (monthly, "
        "quarterly and yearly figures of the organisation; region and trust-type totals) (secondary suppression)"
    ),
    "member_withheld": (
        "a region or trust-type total with a member organisation's figure for the period withheld: the total would "
        "give that figure away by subtraction"
    ),
    "shared_count": (
        "the denominator is another measure's numerator (e.g. occupied bed days) that is withheld there, so it is "
        "withheld here too"
    ),
}

GROUP_TYPES = ("site", "region", "trust_type")
PERIOD_TYPES = ("month", "quarter", "year")
# Published levels: (group type, period type). Months only at organisation level.
LEVELS = (
    ("site", "month"),
    ("site", "quarter"),
    ("site", "year"),
    ("region", "quarter"),
    ("region", "year"),
    ("trust_type", "quarter"),
    ("trust_type", "year"),
)
SITE_LEVELS = LEVELS[:3]

OUTPUT_TYPES = {
    "measure_code": "varchar",
    "group_type": "varchar",
    "group_code": "varchar",
    "period_type": "varchar",
    "period_start": "date",
    "financial_year": "varchar",
    "financial_quarter": "bigint",
    "months": "bigint",
    "sites": "bigint",
    "numerator": "double",
    "denominator": "double",
    "value": "double",
    "suppressed": "boolean",
    "suppression_reason": "varchar",
}

@dataclass
class MeasureRule:
    code: str
    has_denominator: bool
    multiplier: float = 1.0
    denominator_measure: str | None = None  # the measure whose numerator this one's denominator is


@dataclass
class Entry:
    group_type: str
    group_code: str
    period_type: str
    period_start: dt.date
    cells: list[int]
    num: float
    den: float | None
    financial_year: str
    financial_quarter: int | None
    months: int
    sites: int
    value: float | None = None
    withheld: bool = False
    reason: str | None = None

    @property
    def key(self) -> tuple:
        return (self.group_type, self.group_code, self.period_type, self.period_start)


@dataclass
class MeasureTable:
    """One measure's published lattice and its suppression state."""

    rule: MeasureRule
    threshold: int
    entries: list[Entry] = field(default_factory=list)
    n_cells: int = 0
    equations: list[tuple[int | None, list[int]]] = field(default_factory=list)
    owner: dict[tuple, tuple] = field(default_factory=dict)  # (cell, group type, period type) -> aggregate key
    by_entry: dict[int, list[list[int]]] = field(default_factory=lambda: defaultdict(list))  # entry -> its identities

    # -- construction ---------------------------------------------------------------
    @classmethod
    def build(cls, rule: MeasureRule, cells: pd.DataFrame, threshold: int, levels=SITE_LEVELS) -> MeasureTable:
        """`cells`: one row per organisation-month: site_code, month, numerator, denominator, value,
        region, trust_type, quarter_start, year_start, financial_year, financial_quarter."""
        t = cls(rule, threshold)
        cells = cells.sort_values(["site_code", "month"]).reset_index(drop=True)
        t.n_cells = len(cells)
        den_col = cells["denominator"] if rule.has_denominator else pd.Series([None] * len(cells), dtype=object)
        for i, row in enumerate(cells.itertuples(index=False)):
            den = None if not rule.has_denominator or pd.isna(den_col.iloc[i]) else float(den_col.iloc[i])
            value = None if pd.isna(row.value) else float(row.value)
            t.entries.append(
                Entry("site", row.site_code, "month", row.month, [i], float(row.numerator), den,
                      row.financial_year, int(row.financial_quarter), 1, 1, value)
            )
        groups: dict[tuple, list[int]] = defaultdict(list)
        period_of = {}
        for i, row in enumerate(cells.itertuples(index=False)):
            owners = {"site": row.site_code, "region": getattr(row, "region", None),
                      "trust_type": getattr(row, "trust_type", None)}
            for g, p in levels[1:]:
                start = row.quarter_start if p == "quarter" else row.year_start
                key = (g, owners[g], p, start)
                groups[key].append(i)
                t.owner[(i, g, p)] = key
                period_of[key] = (row.financial_year, int(row.financial_quarter) if p == "quarter" else None)
        nums = cells["numerator"].to_numpy(dtype=float)
        dens = cells["denominator"].to_numpy(dtype=float) if rule.has_denominator else None
        months, sites = cells["month"].to_numpy(), cells["site_code"].to_numpy()
        for key in sorted(groups, key=lambda k: (LEVELS.index((k[0], k[2])), str(k[1]), k[3])):
            idx = groups[key]
            num = float(nums[idx].sum())
            den = float(np.nansum(dens[idx])) if dens is not None else None
            fy, fq = period_of[key]
            t.entries.append(
                Entry(*key, idx, num, den, fy, fq, len(set(months[idx])), len(set(sites[idx])), _value(rule, num, den))
            )
        t._equations()
        return t

    def _equations(self) -> None:
        """Every published identity between entries: (parent, children) or (None, members) for the
        identity "sum over regions = sum over trust types" of one period."""
        by_key = {e.key: i for i, e in enumerate(self.entries)}
        children: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        national: dict[tuple, list[int]] = defaultdict(list)
        for i, e in enumerate(self.entries):
            if e.group_type == "site":
                for parent, kind in self._site_parents(e):
                    children[by_key[parent]][kind].append(i)
            elif e.period_type == "quarter":
                cell = e.cells[0]
                children[by_key[self._owner(cell, e.group_type, "year")]]["quarters"].append(i)
                national[("quarter", e.period_start)].append(i)
            else:
                national[("year", e.period_start)].append(i)
        for parent in sorted(children):
            for kind in sorted(children[parent]):
                self.equations.append((parent, sorted(children[parent][kind])))
        for key in sorted(national):
            self.equations.append((None, sorted(national[key])))
        for parent, kids in self.equations:
            members = kids if parent is None else [parent, *kids]
            for m in members:
                self.by_entry[m].append(members)

    def _site_parents(self, e: Entry) -> list[tuple[tuple, str]]:
        """The aggregates an organisation's entry is a child of (their keys), and as what: its
        months of its quarter, its quarters of its year, a site of its region's and trust type's."""
        cell = e.cells[0]
        if e.period_type == "month":
            return [(self._owner(cell, "site", "quarter"), "months")]
        out = [(self._owner(cell, "site", "year"), "quarters")] if e.period_type == "quarter" else []
        for g in ("region", "trust_type"):
            if (cell, g, e.period_type) in self.owner:
                out.append((self._owner(cell, g, e.period_type), "sites"))
        return out

    def _owner(self, cell: int, group_type: str, period_type: str) -> tuple:
        """Key of the `group_type` x `period_type` aggregate that contains base cell `cell`."""
        return self.owner[(cell, group_type, period_type)]

    # -- suppression ----------------------------------------------------------------------
    def sensitive(self, e: Entry) -> bool:
        small = 1 <= e.num <= self.threshold
        if e.den is not None:
            small = small or 1 <= e.den <= self.threshold
        return small

    def withhold(self, i: int, reason: str) -> None:
        e = self.entries[i]
        if not e.withheld:
            e.withheld = True
            e.reason = reason

    def rank(self, i: int) -> tuple:
        """Order of preference for a complement: non-zero in every count first, then smallest."""
        e = self.entries[i]
        nonzero = (e.num > 0) + (e.den is None or e.den > 0)
        size = e.den if e.den is not None else e.num
        return (-nonzero, size, LEVELS.index((e.group_type, e.period_type)), str(e.group_code), e.period_start)

    def primary(self, linked: set[tuple] = frozenset()) -> None:
        for i, e in enumerate(self.entries):
            if self.sensitive(e):
                self.withhold(i, "small_count")
        for i, e in enumerate(self.entries):
            if e.key in linked:
                self.withhold(i, "shared_count")

    def greedy(self) -> int:
        added = 0
        changed = True
        while changed:
            changed = False
            for parent, kids in self.equations:
                members = kids if parent is None else [parent, *kids]
                withheld = [m for m in members if self.entries[m].withheld]
                if len(withheld) != 1:
                    continue
                candidates = [k for k in kids if not self.entries[k].withheld]
                if not candidates and parent is not None and not self.entries[parent].withheld:
                    candidates = [parent]
                if candidates:
                    self.withhold(min(candidates, key=self.rank), "complementary")
                    added += 1
                    changed = True
        return added

    def derivable(self) -> list[int]:
        """Withheld entries a reader could compute exactly from the published figures."""
        return derivable(self)

    def _equations_of(self, i: int) -> list[list[int]]:
        return self.by_entry[i]

    def fix(self, i: int) -> bool:
        """Add one complement so that entry `i` is harder to derive; False if nothing is left to add.

        The smallest identity through which `i` could be derived gets its best published member
        withheld; an entry in no such identity gets one of its own published cells withheld.
        """
        for members in sorted(self._equations_of(i), key=len):
            free = [m for m in members if not self.entries[m].withheld]
            if free:
                self.withhold(min(free, key=self.rank), "complementary")
                return True
        published = [c for c in self.entries[i].cells if not self.entries[c].withheld]
        if published:
            self.withhold(min(published, key=self.rank), "complementary")
            return True
        return False

    def protect(self) -> None:
        """Greedy complements, then the exact audit, until nothing withheld is derivable."""
        rounds = 0
        while True:
            rounds += 1
            self.greedy()
            leaks = self.derivable()
            if not leaks:
                break
            touched: set[int] = set()
            fixed = 0
            for i in leaks:
                near = {m for members in self._equations_of(i) for m in members} | {i}
                if near & touched:
                    continue
                if self.fix(i):
                    fixed += 1
                    touched |= near
            if not fixed:
                # No complement left that the greedy rules would pick: withhold the organisation's whole
                # lattice for this measure rather than stop every other site's marts. With nothing
                # published there is no equation left to derive a figure from.
                site = self.entries[leaks[0]].group_code
                log.warning("suppression of %s at %s: %d withheld figures could not be protected one by one; "
                            "every figure of the measure there is withheld", self.rule.code, site, len(leaks))
                for i in range(len(self.entries)):
                    self.withhold(i, "complementary")
                break
        log.debug("suppression of %s converged after %d rounds", self.rule.code, rounds)

    def withheld_keys(self) -> set[tuple]:
        return {e.key for e in self.entries if e.withheld}

    def frame(self) -> pd.DataFrame:
        rows = [
            {
                "measure_code": self.rule.code,
                "group_type": e.group_type,
                "group_code": e.group_code,
                "period_type": e.period_type,
                "period_start": e.period_start,
                "financial_year": e.financial_year,
                "financial_quarter": e.financial_quarter,
                "months": e.months,
                "sites": e.sites,
                "numerator": e.num,
                "denominator": e.den,
                "value": e.value,
                "suppressed": e.withheld,
                "suppression_reason": e.reason,
            }
            for e in self.entries
        ]
        return pd.DataFrame(rows, columns=list(OUTPUT_TYPES))


def site_disclosure_control(cells: pd.DataFrame, rules: list[MeasureRule], threshold: int) -> pd.DataFrame:
    """Stage 1: each organisation's lattice (months, quarters, year) protected with its own cells only.

    `cells`: measure_code, site_code, month, numerator, denominator, value, quarter_start, year_start,
    financial_year, financial_quarter (region and trust_type are not needed). Rows as OUTPUT_TYPES,
    group_type 'site', values not yet nulled.
    """
    frames = [_protect_one(part, rules, threshold) for _, part in cells.groupby("site_code", sort=True)]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(OUTPUT_TYPES))


def _protect_one(cells: pd.DataFrame, rules: list[MeasureRule], threshold: int) -> pd.DataFrame:
    by_code = {r.code: r for r in rules}
    done: dict[str, MeasureTable] = {}

    def process(code: str, seen: tuple[str, ...] = ()) -> MeasureTable:
        if code in done:
            return done[code]
        if code in seen:
            raise ValueError(f"measures {' -> '.join((*seen, code))} name each other as denominator_measure")
        rule = by_code[code]
        linked: set[tuple] = set()
        if rule.denominator_measure:
            if rule.denominator_measure not in by_code:
                raise ValueError(
                    f"measure {code}: denominator_measure {rule.denominator_measure!r} is not a national measure"
                )
            linked = process(rule.denominator_measure, (*seen, code)).withheld_keys()
        table = MeasureTable.build(rule, cells[cells["measure_code"] == code], threshold)
        table.primary(linked)
        table.protect()
        done[code] = table
        return table

    for rule in rules:
        process(rule.code)
    frames = [done[r.code].frame() for r in rules if done[r.code].entries]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(OUTPUT_TYPES))


def group_totals(site_rows: pd.DataFrame, directory: pd.DataFrame, rules: list[MeasureRule]) -> pd.DataFrame:
    """Stage 2: region and trust-type totals per financial quarter and year, from stage 1's rows.

    `directory`: site_code, region, trust_type. A total is withheld (`member_withheld`) unless every
    member organisation's figure for the period is published; only published members' counts are
    needed, so the totals can be made from disclosure-controlled rows (null counts where withheld).
    """
    rows = site_rows.merge(directory[["site_code", "region", "trust_type"]], left_on="group_code",
                           right_on="site_code", how="inner")
    months = rows[rows["period_type"] == "month"]
    by_rule = {r.code: r for r in rules}
    out = []
    for group in ("region", "trust_type"):
        for period, start_of in (("quarter", quarter_start), ("year", financial_year_start)):
            members = rows[rows["period_type"] == period]
            if members.empty:
                continue
            # Distinct months with data among the members (a site's partial quarter counts its own months).
            n_months = (
                months.assign(month=months["period_start"], period_start=[start_of(m) for m in months["period_start"]])
                .groupby(["measure_code", group, "period_start"])["month"].nunique().rename("months")
            )
            agg = members.groupby(["measure_code", group, "period_start"], sort=True).agg(
                financial_year=("financial_year", "first"),
                financial_quarter=("financial_quarter", "first"),
                sites=("group_code", "nunique"),
                numerator=("numerator", lambda x: x.sum(min_count=1)),
                denominator=("denominator", lambda x: x.sum(min_count=1)),
                suppressed=("suppressed", "any"),
            )
            agg = agg.join(n_months, how="left").reset_index().rename(columns={group: "group_code"})
            agg["group_type"] = group
            agg["period_type"] = period
            out.append(agg)
    if not out:
        return pd.DataFrame(columns=list(OUTPUT_TYPES))
    frame = pd.concat(out, ignore_index=True)
    frame["suppressed"] = frame["suppressed"].astype(bool)
    frame["months"] = frame["months"].fillna(0).astype("int64")
    frame["value"] = [
        _value(by_rule[c], n, d) for c, n, d in zip(frame["measure_code"], frame["numerator"], frame["denominator"])
    ]
    frame["suppression_reason"] = np.where(frame["suppressed"], "member_withheld", None)
    return frame[list(OUTPUT_TYPES)]


def _value(rule: MeasureRule, num: float | None, den: float | None) -> float | None:
    """A figure's value from its counts: numerator x multiplier / denominator, or the count itself."""
    if num is None or pd.isna(num):
        return None
    if not rule.has_denominator:
        return float(num)
    if den is None or pd.isna(den) or not den > 0:
        return None
    return float(num) * rule.multiplier / float(den)


def disclosure_control(cells: pd.DataFrame, rules: list[MeasureRule], threshold: int) -> pd.DataFrame:
    """Every published national figure with its suppression flag and reason (values not yet nulled).

    `cells`: measure_code, site_code, month, numerator, denominator, value, region, trust_type,
    quarter_start, year_start, financial_year, financial_quarter.
    """
    site_rows = site_disclosure_control(cells, rules, threshold)
    directory = cells[["site_code", "region", "trust_type"]].drop_duplicates("site_code")
    out = pd.concat([site_rows, group_totals(site_rows, directory, rules)], ignore_index=True)
    return out.sort_values(["measure_code", "group_type", "period_type", "group_code", "period_start"]).reset_index(
        drop=True
    )
