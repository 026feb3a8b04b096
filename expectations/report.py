"""What a batch's validation looks like to people: the markdown of its run artifact.

`flows.publish.publish_batch_artifact` publishes it once a batch is recorded, with the
batch's Data Docs page: the verdict, the checks passed per Kahn category and every failed check. Everything in it comes from
meta.dq_result, which holds counts and short descriptions only, never patient-level values.
"""

from __future__ import annotations

import pandas as pd

CATEGORIES = ("conformance", "completeness", "plausibility")


def _num(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else f"{int(value):,}"


def batch_markdown(outcome: dict, dq: pd.DataFrame, docs_page: str | None = None) -> str:
    """The artifact's text: verdict, rows, checks by category, failed checks."""
    lines = [
        f"# Data quality: {outcome['site_code']}/{outcome['source_name']} ({outcome['dataset']})",
        "",
        f"Batch `{outcome.get('batch_id')}`: **{outcome['status']}**. "
        f"{_num(outcome.get('rows_in'))} rows in, {_num(outcome.get('rows_loaded'))} loaded, "
        f"{_num(outcome.get('rows_quarantined'))} quarantined.",
    ]
    if outcome.get("reason"):
        lines += ["", f"Reason: {outcome['reason']}"]
    if not dq.empty:
        lines += ["", "| category | checks | passed | failed |", "|---|---:|---:|---:|"]
        for cat in CATEGORIES:
            part = dq[dq["category"] == cat]
            if len(part):
                passed = int(part["passed"].astype(bool).sum())
                lines.append(f"| {cat} | {len(part)} | {passed} | {len(part) - passed} |")
        failed = dq[~dq["passed"].astype(bool)]
        if len(failed):
            lines += [
                "",
                "## Failed checks",
                "",
                "| check | category | severity | rows | % | observed |",
                "|---|---|---|---:|---:|---|",
            ]
            order = {"fatal": 0, "error": 1, "warning": 2}
            failed = failed.assign(_o=failed["severity"].map(order)).sort_values(["_o", "expectation"])
            for r in failed.to_dict("records"):
                pct = r["unexpected_percent"]
                pct = "" if pct is None or pd.isna(pct) else f"{pct:.3f}"
                observed = str(r["observed_value"] or "").replace("|", "/")[:200]
                lines.append(
                    f"| {r['expectation']} | {r['category']} | {r['severity']} | {_num(r['unexpected_count'])} "
                    f"| {pct} | {observed} |"
                )
        else:
            lines += ["", "Every check passed."]
    if docs_page:
        lines += ["", f"Great Expectations Data Docs: `{docs_page}`"]
    return "\n".join(lines) + "\n"
