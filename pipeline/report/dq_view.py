"""The site page's data-quality section: pass rates, quarantine and new failures, from the local mart's DQ views."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pandas as pd

from pipeline.report import charts
from pipeline.report.data import SiteData
from pipeline.report.format import MISSING, as_float, count, is_missing, month_label, percent


def dq_view(data: SiteData) -> dict:
    return {
        "batches": _batches(data),
        "pass_rows": _pass_rows(data),
        "quarantine": _quarantine(data),
        "new": [_new_failure(r) for r in data.dq_new],
    }


def _batches(data: SiteData) -> list[dict]:
    """Each dataset's latest batch."""
    batches = []
    latest: dict[str, dict] = {}
    for b in data.dq_batches:
        latest[b.get("dataset")] = b  # ordered by loaded_at: the last one wins
    for ds, b in sorted(latest.items()):
        batches.append(
            {
                "dataset": ds,
                "source": b.get("source_name"),
                "status": b.get("status"),
                "period": f"{month_label(b.get('period_start'))} to {month_label(b.get('period_end'))}",
                "rows_in": count(b.get("rows_in")),
                "loaded": count(b.get("rows_loaded")),
                "quarantined": count(b.get("rows_quarantined")),
                "rate": percent(b.get("quarantine_rate"), 2),
                "checks": count(b.get("checks")),
                "failed": count(b.get("checks_failed")),
                "reason": b.get("reason") or "",
            }
        )
    return batches


def _pass_totals(data: SiteData) -> dict[tuple, dict]:
    """Checks and failures by dataset and validation month, all Kahn categories together (and
    each category's pass rate)."""
    agg: dict[tuple, dict] = {}
    for r in data.dq_pass:
        key = (r.get("dataset"), r.get("month"))
        a = agg.setdefault(
            key, {"checks": 0, "passed": 0, "fatal": 0, "error": 0, "warning": 0, "batches": 0, "by_cat": {}}
        )
        a["checks"] += int(as_float(r.get("checks")) or 0)
        a["passed"] += int(as_float(r.get("checks_passed")) or 0)
        a["fatal"] += int(as_float(r.get("fatal_failed")) or 0)
        a["error"] += int(as_float(r.get("error_failed")) or 0)
        a["warning"] += int(as_float(r.get("warning_failed")) or 0)
        a["batches"] = max(a["batches"], int(as_float(r.get("batches")) or 0))
        a["by_cat"][r.get("category")] = percent(r.get("pass_rate"))
    return agg


def _pass_rows(data: SiteData) -> list[dict]:
    pass_rows = []
    for (ds, month), a in sorted(_pass_totals(data).items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or dt.date.min)):
        rate = a["passed"] / a["checks"] if a["checks"] else None
        pass_rows.append(
            {
                "dataset": ds,
                "month": month_label(month),
                "batches": a["batches"],
                "checks": a["checks"],
                "passed": a["passed"],
                "rate": percent(rate, 1),
                "rate_value": rate,
                "conformance": a["by_cat"].get("conformance", MISSING),
                "completeness": a["by_cat"].get("completeness", MISSING),
                "plausibility": a["by_cat"].get("plausibility", MISSING),
                "failed": f"{a['fatal']} fatal, {a['error']} error, {a['warning']} warning",
            }
        )
    return pass_rows


def _quarantine(data: SiteData) -> list[dict]:
    """Quarantined rows per dataset and month of the data, and by rule."""
    months_all = sorted({r.get("month") for r in data.dq_quarantine if r.get("month")})
    if months_all:
        first, last = months_all[0], months_all[-1]
        spine = [d.date() for d in pd.date_range(first, last, freq="MS")]
    else:
        spine = []
    per_ds: dict[str, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
    per_rule: dict[tuple[str, str], dict] = {}
    for r in data.dq_quarantine:
        ds, n = r.get("dataset"), int(as_float(r.get("rows_quarantined")) or 0)
        per_ds[ds][r.get("month")] += n
        pr = per_rule.setdefault((ds, r.get("rule")), {"rows": 0, "months": set()})
        pr["rows"] += n
        if r.get("month"):
            pr["months"].add(r.get("month"))
    return [_quarantine_row(ds, per_ds[ds], per_rule, spine) for ds in sorted(per_ds)]


def _quarantine_row(ds: str, by_month: dict[Any, int], per_rule: dict[tuple[str, str], dict], spine: list) -> dict:
    total = sum(by_month.values())
    rules = sorted(((rule, v) for (d, rule), v in per_rule.items() if d == ds), key=lambda kv: -kv[1]["rows"])
    return {
        "dataset": ds,
        "total": f"{total:,}",
        "chart": charts.bar_strip(
            [{"month": m, "rows": v} for m, v in by_month.items() if m],
            spine,
            label=f"{ds}: rows quarantined by month of data",
        ),
        "undated": by_month.get(None, 0),
        "rules": [
            {
                "rule": rule,
                "rows": f"{v['rows']:,}",
                "months": len(v["months"]),
                "span": f"{month_label(min(v['months']))} to {month_label(max(v['months']))}"
                if v["months"]
                else MISSING,
            }
            for rule, v in rules
        ],
    }


def _new_failure(r: dict) -> dict:
    return {
        "dataset": r.get("dataset"),
        "source": r.get("source_name"),
        "check": r.get("expectation"),
        "category": r.get("category"),
        "severity": r.get("severity"),
        "rows": count(r.get("unexpected_count")),
        "percent": MISSING if is_missing(r.get("unexpected_percent")) else f"{float(r['unexpected_percent']):.2f}%",
        "previous": r.get("previous_result"),
    }
