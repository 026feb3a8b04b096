"""Alerts to a webhook when a site fails or a batch is held, so nobody has to watch the UI.

The webhook URL comes from the environment (`BENEFITS_ALERT_WEBHOOK_URL`) or from a Prefect
Secret block named in `BENEFITS_ALERT_WEBHOOK_BLOCK`; it is never written to a repository file,
a log line or an artifact. With neither set, alerts are only logged.

The payload names the site, dataset, source, batch and reason, and nothing else: reasons are
cut short and scrubbed of credentials in URLs, quoted source lines and long digit runs (an
NHS number is ten digits), because an alert lands in a chat channel, not in the warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

import requests

from pipeline.config.settings import alert_timeout_seconds

log = logging.getLogger(__name__)

ENV_URL = "BENEFITS_ALERT_WEBHOOK_URL"
ENV_BLOCK = "BENEFITS_ALERT_WEBHOOK_BLOCK"
REASON_LIMIT = 400

KINDS = ("batch_held", "source_failed", "site_failed", "site_timed_out")

_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.\-]*://)[^/\s:@]+(:[^/\s@]*)?@", re.I)
_SECRET_PAIR = re.compile(r"\b(password|passwd|pwd|token|secret|api[_-]?key)\s*[=:]\s*\S+", re.I)
_QUOTED_LINE = re.compile(r"(original line|line contents?)\s*:.*", re.I)
_LONG_DIGITS = re.compile(r"\d{8,}")


def scrub(text: str | None, limit: int = REASON_LIMIT) -> str | None:
    """A reason safe to post: no credentials, no quoted source rows, no identifier-like numbers."""
    if text is None:
        return None
    out = _URL_CREDENTIALS.sub(r"\1***@", str(text))
    out = _SECRET_PAIR.sub(lambda m: f"{m.group(1)}=***", out)
    out = _QUOTED_LINE.sub(r"\1: (omitted)", out)
    out = _LONG_DIGITS.sub("#" * 8, out)
    out = " ".join(out.split())
    return out if len(out) <= limit else out[: limit - 1] + "…"


@dataclass
class Alert:
    kind: str  # one of KINDS
    site: str
    reason: str | None = None
    dataset: str | None = None
    source: str | None = None
    batch_id: str | None = None
    flow_run_id: str | None = None
    occurred_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    )

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}; known: {', '.join(KINDS)}")
        self.reason = scrub(self.reason)

    @property
    def summary(self) -> str:
        what = {
            "batch_held": "batch held",
            "source_failed": "extract failed",
            "site_failed": "site run failed",
            "site_timed_out": "site run timed out",
        }[self.kind]
        where = "/".join(p for p in (self.site, self.source) if p)
        ds = f" ({self.dataset})" if self.dataset else ""
        batch = f" batch {self.batch_id}" if self.batch_id else ""
        return f"[benefits] {where}{ds}: {what}{batch}: {self.reason or 'no reason given'}"

    def payload(self) -> dict:
        """JSON body: `text` for chat webhooks (Slack/Teams style), the fields for machines."""
        return {"text": self.summary, "pipeline": "nhs-benefits-pipeline", **asdict(self)}


def alerts_for_outcomes(outcomes: list[dict], flow_run_id: str | None = None) -> list[Alert]:
    """One alert per held batch or failed source in an ingest-site result."""
    alerts = []
    for o in outcomes:
        kind = {"held": "batch_held", "failed": "source_failed"}.get(o.get("status"))
        if kind:
            alerts.append(
                Alert(
                    kind=kind,
                    site=o["site_code"],
                    source=o.get("source_name"),
                    dataset=o.get("dataset"),
                    batch_id=o.get("batch_id"),
                    reason=o.get("reason"),
                    flow_run_id=flow_run_id,
                )
            )
    return alerts


def webhook_url(load_secret: Callable[[str], str] | None = None) -> str | None:
    """The configured webhook: the environment first, then the named Secret block, read by
    `load_secret` (flows pass Prefect's; this module never imports Prefect)."""
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        return url
    block = os.environ.get(ENV_BLOCK, "").strip()
    if not block:
        return None
    if load_secret is None:
        log.error("alert webhook: Secret block %r is configured but cannot be read outside a flow", block)
        return None
    try:
        value = load_secret(block)
    except Exception as exc:  # noqa: BLE001  a missing block must not stop a run
        log.error("alert webhook: cannot load Secret block %r (%s)", block, type(exc).__name__)
        return None
    return str(value).strip() or None


def alerts_configured() -> bool:
    return bool(os.environ.get(ENV_URL, "").strip() or os.environ.get(ENV_BLOCK, "").strip())


def describe_endpoint(url: str) -> str:
    """Where alerts go, for logs: scheme and host only (webhook paths often embed a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}/…"


class AlertDeliveryError(ConnectionError):
    """The webhook refused or could not be reached; the message never contains the URL."""


# A webhook answers in well under a second; one that does not within a few seconds is down, and
# waiting longer only stalls the run it reports on. (connect, read) seconds per attempt.
TIMEOUT_SECONDS = alert_timeout_seconds()


def post_alert(url: str, alert: Alert, timeout: float | None = None) -> None:
    """One delivery attempt. Raises AlertDeliveryError (an I/O error, so callers may retry)."""
    seconds = TIMEOUT_SECONDS if timeout is None else timeout
    try:
        r = requests.post(
            url,
            data=json.dumps(alert.payload()),
            headers={"Content-Type": "application/json"},
            timeout=(seconds, seconds),
        )
    except requests.RequestException as exc:
        raise AlertDeliveryError(f"alert webhook {describe_endpoint(url)} unreachable: {type(exc).__name__}") from None
    if r.status_code >= 300:
        raise AlertDeliveryError(f"alert webhook {describe_endpoint(url)} answered HTTP {r.status_code}")


def deliver(alerts: list[Alert], url: str, *, attempts: int = 2, backoff_seconds: float = 1.0) -> int:
    """Post alerts, retrying each briefly; returns how many arrived. Never raises.

    A webhook still down after an alert's attempts is taken as down for the rest: the
    undelivered alerts are logged in one line and the run goes on, so a dead webhook costs a run
    at most `attempts` timeouts, not one per alert."""
    sent = 0
    for i, a in enumerate(alerts):
        for attempt in range(attempts):
            try:
                post_alert(url, a)
                sent += 1
                break
            except AlertDeliveryError as exc:
                if attempt == attempts - 1:
                    log.error("%s; %d alert(s) not delivered (they are in this log)", exc, len(alerts) - i)
                    return sent
                time.sleep(backoff_seconds * 2**attempt)
    return sent


def send_alerts(
    alerts: list[Alert],
    url: str | None = None,
    *,
    attempts: int = 2,
    backoff_seconds: float = 1.0,
    load_secret: Callable[[str], str] | None = None,
) -> int:
    """Log alerts, then deliver them if a webhook is configured; returns how many arrived.

    Delivery problems are logged, never raised: a broken webhook must not fail or stall the data
    run it reports on.
    """
    if not alerts:
        return 0
    for a in alerts:
        log.warning("alert: %s", a.summary)
    url = url or webhook_url(load_secret)
    if not url:
        return 0
    return deliver(alerts, url, attempts=attempts, backoff_seconds=backoff_seconds)
