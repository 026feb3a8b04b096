"""Investment and return: evidenced value set against what a project, and the whole trust, spent.

Per project (the benefits naming it, their own investment and the project's shared investment
from `projects:`) and per trust (all of it), at the site's latest month:

* value: the benefits' `value_evidenced_gbp` added as `benefits.value.totals` adds it (only
  evidenced value, an interval from the benefits' intervals in quadrature, split cash-releasing /
  non-cash-releasing / public money);
* costs, as positive numbers: the investment spent to date (the one-off in its start month, the
  recurring cost accrued a twelfth a month from then) and the cost of evidenced disbenefits;
* net return = value - disbenefit cost - investment to date (below 0: a net cost), ROI = net
  return / investment to date, both also at the ends of the value's interval;
* payback month: the first month from which value less disbenefit cost has covered the investment
  to date in every month up to the latest. A benefit's value in a month is its figure as of that
  month (carried forward past its last month of data). Value evidenced once and lost again does
  not leave a payback standing.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from benefits.register import Benefit, Investment, Project
from benefits.tables import INVESTMENT_RETURN
from benefits.value import totals

COLUMNS = list(INVESTMENT_RETURN.columns)


def month_range(start: dt.date, end: dt.date) -> list[dt.date]:
    out, m = [], start.replace(day=1)
    while m <= end:
        out.append(m)
        m = dt.date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return out


def _joined(texts) -> str | None:
    seen = list(dict.fromkeys(t for t in texts if t))
    return "; ".join(seen) or None


def _series(fact: pd.DataFrame, column: str, grid: list[dt.date]) -> pd.Series:
    """Sum over benefits of each one's `column` as of each month of the grid (carried forward)."""
    if fact.empty or not grid:
        return pd.Series(0.0, index=grid)
    wide = fact.pivot_table(index="as_of_month", columns="benefit_id", values=column, aggfunc="last")
    wide = wide.reindex(sorted(set(wide.index) | set(grid))).ffill().fillna(0.0)
    return wide.loc[grid].sum(axis=1)


def payback(net: pd.Series, paid_for: pd.Series) -> dt.date | None:
    """First month of the trailing run of months in which `net` >= 0 and something was spent."""
    ok = (net >= 0) & (paid_for > 0)
    if ok.empty or not ok.iloc[-1]:
        return None
    run = ok.astype(int)[::-1].cumprod()[::-1].astype(bool)
    return run[run].index[0]


def group_row(
    site: str, level: str, project: str | None, fact: pd.DataFrame, benefits: list[Benefit],
    investments: list[tuple[Investment, dt.date]], as_of: dt.date, who: list[tuple[str | None, str | None]],
) -> dict:  # fmt: skip
    ids = {b.id for b in benefits}
    mine = fact[fact["benefit_id"].isin(ids)]
    latest = mine[mine["is_latest"].astype(bool)]
    t = totals(latest)
    starts = [s for _, s in investments] + [b.go_live for b in benefits]
    grid = month_range(min(starts), as_of) if starts else []
    cost = pd.Series([sum(i.to_date(s, m) for i, s in investments) for m in grid], index=grid, dtype=float)
    net_series = _series(mine, "value_evidenced_gbp", grid) - _series(mine, "disbenefit_cost_gbp", grid) - cost
    spent = float(cost.iloc[-1]) if len(cost) else 0.0
    value, disb = t["value_evidenced_gbp"], t["disbenefit_cost_gbp"]

    def net(v: float) -> float:
        return v - disb - spent

    def roi(v: float) -> float | None:
        return net(v) / spent if spent > 0 else None

    return {
        "site_code": site, "level": level, "project": project, "as_of_month": as_of,
        "benefits": t["benefits"], "valued_benefits": t["valued_benefits"], "evidenced_benefits": t["evidenced_benefits"],
        "investment_one_off_gbp": sum(i.one_off_gbp for i, _ in investments),
        "investment_recurring_gbp_per_year": sum(i.recurring_gbp_per_year for i, _ in investments),
        "investment_to_date_gbp": spent, "investment_sources": _joined(i.source for i, _ in investments),
        "value_evidenced_gbp": value, "value_evidenced_gbp_low": t["value_evidenced_gbp_low"],
        "value_evidenced_gbp_high": t["value_evidenced_gbp_high"],
        "value_evidenced_cash_releasing_gbp": t["value_evidenced_cash_releasing_gbp"],
        "value_evidenced_non_cash_releasing_gbp": t["value_evidenced_non_cash_releasing_gbp"],
        "value_evidenced_public_money_gbp": t["value_evidenced_public_money_gbp"],
        "disbenefit_cost_gbp": disb, "net_return_gbp": net(value),
        "net_return_gbp_low": net(t["value_evidenced_gbp_low"]), "net_return_gbp_high": net(t["value_evidenced_gbp_high"]),
        "roi": roi(value), "roi_low": roi(t["value_evidenced_gbp_low"]), "roi_high": roi(t["value_evidenced_gbp_high"]),
        "payback_month": payback(net_series, cost) if grid else None,
        "who_gains": _joined(g for g, _ in who), "who_bears_cost": _joined(c for _, c in who),
    }  # fmt: skip


def return_rows(site: str, fact: pd.DataFrame, benefits: list[Benefit], projects: list[Project]) -> list[dict]:
    """INVESTMENT_RETURN rows of one site from its fact_benefit rows (all as-of months)."""
    if fact.empty:
        return []
    fact = fact[fact["site_code"] == site].copy()
    if fact.empty:
        return []
    fact["as_of_month"] = pd.to_datetime(fact["as_of_month"]).dt.date
    as_of = max(fact["as_of_month"])
    by_name = {p.name: p for p in projects}
    names = list(dict.fromkeys([*(b.project for b in benefits), *by_name]))
    rows, every_investment, every_who = [], [], []
    for name in names:
        group = [b for b in benefits if b.project == name]
        invest, who = _project_parts(group, by_name.get(name), as_of)
        every_investment += invest
        every_who += who
        rows.append(group_row(site, "project", name, fact, group, invest, as_of, who))
    rows.append(group_row(site, "trust", None, fact, benefits, every_investment, as_of, every_who))
    return rows


def _project_parts(group: list[Benefit], p: Project | None, as_of) -> tuple[list, list]:
    """A project's investments (each with the month it counts from) and who gains / who bears the cost:
    its benefits' own, and the register project's (first) where there is one."""
    invest = [(b.investment, b.investment.start or b.go_live) for b in group if b.investment]
    who = [(b.who_gains, b.who_bears_cost) for b in group]
    if p is not None:
        if p.investment is not None:
            # The register requires a start when no benefit names the project; a site assembled
            # in code may not have one, and then the investment counts from the latest month.
            invest.append((p.investment, p.investment.start or min((b.go_live for b in group), default=as_of)))
        who.insert(0, (p.who_gains, p.who_bears_cost))
    return invest, who


def return_frame(fact: pd.DataFrame, sites: list[tuple[str, list[Benefit], list[Project]]]) -> pd.DataFrame:
    rows = [r for code, benefits, projects in sites for r in return_rows(code, fact, benefits, projects)]
    return pd.DataFrame(rows, columns=COLUMNS)
