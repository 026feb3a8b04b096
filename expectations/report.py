"""What a batch's validation looks like to people: a Prefect artifact and its Data Docs page.

`publish_batch_artifact` is called by the ingest task once a batch is recorded: it renders the
batch's Data Docs page and publishes a markdown artifact with the verdict, the
checks passed per Kahn category and every failed check. Everything in it comes from
meta.dq_result, which holds counts and short descriptions only, never patient-level values.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, is_dataclass

import pandas as pd

log = logging.getLogger(__name__)
CATEGORIES = ("conformance", "completeness", "plausibility")


def artifact_key(site_code: str, source_name: str) -> str:
    """Prefect artifact keys allow lower-case letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", f"dq-{site_code}-{source_name}".lower()).strip("-")


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


def publish_batch_artifact(outcome, *, settings=None, wh=None, index: bool = True) -> str | None:
    """Build the batch's Data Docs page (and the index unless `index` is False: a run of many
    batches renders it once at the end) and publish its Prefect artifact; returns the artifact key.

    Never raises: a reporting problem must not fail an ingest that has already committed.
    """
    if is_dataclass(outcome):
        outcome = asdict(outcome)
    batch_id = outcome.get("batch_id")
    if not batch_id:
        return None  # nothing was extracted (up to date), so nothing was validated
    try:
        from prefect.artifacts import create_markdown_artifact

        from expectations.docs import build_batch_docs
        from pipeline.runtime import warehouse
        from pipeline.config.settings import load_settings

        settings = settings or load_settings()
        wh = wh or warehouse(settings)
        dq = wh.query(
            "select expectation, category, severity, unexpected_count, unexpected_percent, observed_value, passed "
            "from meta.dq_result where batch_id = :b",
            {"b": batch_id},
        )
        page = build_batch_docs(settings, [batch_id], index=index)
        key = artifact_key(outcome["site_code"], outcome["source_name"])
        create_markdown_artifact(
            markdown=batch_markdown(outcome, dq, str(page) if page else None),
            key=key,
            description=f"Validation of batch {batch_id} ({outcome['dataset']})",
        )
        return key
    except Exception as exc:
        log.warning("could not publish the data-quality artifact for batch %s: %s", batch_id, exc)
        return None
