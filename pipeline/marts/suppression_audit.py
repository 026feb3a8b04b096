"""The exact audit of a measure's suppression: which withheld figures a reader could compute from
the published ones (pipeline.marts.suppression).

Each published aggregate is an equation over the withheld organisation-months it sums; a withheld
figure is derivable when its own sum is in the row space of those equations (per connected
component of withheld cells), or when the bounds a reader knows pin an equation's withheld sum.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pipeline.marts.suppression import MeasureTable

_TOL = 1e-7


def derivable(table: MeasureTable) -> list[int]:
    """Withheld entries a reader could compute exactly from the published figures."""
    withheld_cells = [i for i in range(table.n_cells) if table.entries[i].withheld]
    if not withheld_cells:
        return [i for i, e in enumerate(table.entries) if e.withheld]  # all members published
    pos = {c: j for j, c in enumerate(withheld_cells)}
    rows = published_equations(table, pos)
    comp = components(len(withheld_cells), [cols for _, cols in rows])
    nulls = null_spaces(len(withheld_cells), comp, [cols for _, cols in rows])
    found: set[int] = set()
    for i, e in enumerate(table.entries):
        if not e.withheld:
            continue
        cols = [pos[c] for c in e.cells if c in pos]
        if not cols or in_row_space(cols, comp, nulls):
            found.add(i)
    found |= pinned_by_bounds(table, rows, withheld_cells)
    return sorted(found)


def published_equations(table: MeasureTable, pos: dict[int, int]) -> list[tuple[int, list[int]]]:
    """Each published aggregate over withheld cells: (its entry, the withheld cells' columns)."""
    rows: list[tuple[int, list[int]]] = []
    for i, e in enumerate(table.entries[table.n_cells :], start=table.n_cells):
        if e.withheld:
            continue
        cols = [pos[c] for c in e.cells if c in pos]
        if cols:
            rows.append((i, cols))
    return rows


def pinned_by_bounds(table: MeasureTable, rows, withheld_cells) -> set[int]:
    """Members of a published equation whose withheld sum sits at the bounds a reader knows:
    every count is >= 0; a small_count cell of a plain count is between 1 and the threshold."""
    found: set[int] = set()
    for _, cols in rows:
        cells = [withheld_cells[j] for j in cols]
        quantities = [("num", [table.entries[c].num for c in cells])]
        if table.rule.has_denominator:
            quantities.append(("den", [table.entries[c].den or 0.0 for c in cells]))
        for qty, values in quantities:
            low = high = 0.0
            bounded = True
            for c in cells:
                e = table.entries[c]
                if e.reason == "small_count" and qty == "num" and not table.rule.has_denominator:
                    low += 1
                    high += table.threshold
                else:
                    bounded = False
            total = sum(values)
            if total == low or (bounded and total == high):
                found.update(cells)
    return found


def components(n: int, rows: list[list[int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for cols in rows:
        r = find(cols[0])
        for c in cols[1:]:
            parent[find(c)] = r
    return [find(x) for x in range(n)]


def null_spaces(n: int, comp: list[int], rows: list[list[int]]) -> dict[int, tuple[dict[int, int], np.ndarray]]:
    """Per component: (unknown -> local column, basis of the null space of its equations)."""
    members: dict[int, list[int]] = defaultdict(list)
    for x in range(n):
        members[comp[x]].append(x)
    comp_rows: dict[int, list[list[int]]] = defaultdict(list)
    for cols in rows:
        comp_rows[comp[cols[0]]].append(cols)
    out = {}
    for root, xs in members.items():
        local = {x: j for j, x in enumerate(xs)}
        eqs = comp_rows.get(root, [])
        if not eqs:
            out[root] = (local, np.eye(len(xs)))
            continue
        a = np.zeros((len(eqs), len(xs)))
        for r, cols in enumerate(eqs):
            a[r, [local[c] for c in cols]] = 1.0
        _, s, vh = np.linalg.svd(a, full_matrices=True)
        rank = int((s > _TOL * max(1.0, s[0])).sum())
        out[root] = (local, vh[rank:].T)
    return out


def in_row_space(cols: list[int], comp: list[int], nulls) -> bool:
    by_comp: dict[int, list[int]] = defaultdict(list)
    for c in cols:
        by_comp[comp[c]].append(c)
    for root, cs in by_comp.items():
        local, basis = nulls[root]
        if basis.shape[1] == 0:
            continue
        t = np.zeros(basis.shape[0])
        t[[local[c] for c in cs]] = 1.0
        if np.linalg.norm(basis.T @ t) > _TOL:
            return False
    return True
