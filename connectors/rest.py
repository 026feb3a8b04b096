"""`rest`: records from a JSON HTTP API, page by page.

Declare where the records are in each response (`records_path`), how pages follow one another
(`paginator`: offset, page number, a next link in the body, or the Link header) and how to
authenticate (`auth`: API key header, bearer token, OAuth2 client credentials). Nested
objects flatten to dotted names (`patient.id`), which `columns` then maps to contract names.

Incremental by `replication_key` (a record field): the watermark is sent as `since_param`
when the API can filter, and older records are dropped here in any case.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from connectors.base import Connector, ConnectorConfig, ConnectorError
from connectors.http import Auth, HttpClient, dig, display_url
from connectors.paginators import NoPagination, Page, Paginator


class RestConfig(ConnectorConfig):
    url: str = Field(description="endpoint URL of the first page")
    params: dict[str, str | int | float | bool] = Field(default_factory=dict, description="query parameters")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers (not secrets: use auth)")
    auth: Auth | None = Field(default=None, description="api_key, bearer or oauth2_client_credentials")
    paginator: Paginator = Field(default_factory=lambda: NoPagination(type="none"), description="how pages follow")
    records_path: str = Field(default="", description="dotted path of the record list in each body; '' = the body")
    replication_key: str | None = Field(default=None, description="record field that only grows (e.g. updated_at)")
    since_param: str | None = Field(default=None, description="query parameter that takes the watermark")
    max_pages: int = Field(default=10_000, ge=1, description="stop with an error past this many pages")
    verify_tls: bool = Field(default=True, description="verify the server's TLS certificate")


def flatten(record: dict, prefix: str = "") -> dict:
    """Nested objects become dotted names; lists stay whole, as JSON text."""
    out: dict[str, Any] = {}
    for k, v in record.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, f"{name}."))
        elif isinstance(v, list):
            out[name] = json.dumps(v, sort_keys=True)
        else:
            out[name] = v
    return out


class RestConnector(Connector):
    name = "rest"
    config_model = RestConfig
    # endpoint, credentials and paging fetch the records; they do not shape them
    fetch_options = Connector.fetch_options | {"url", "headers", "auth", "paginator", "max_pages", "verify_tls"}
    description = "a JSON HTTP API: API key, bearer or OAuth2 auth; offset, page, next-link or Link-header paging"
    config: RestConfig

    def source_label(self) -> str:
        return display_url(self.config.url)

    def records(self, body: Any, url: str) -> list[dict]:
        found = dig(body, self.config.records_path)
        if found is None and self.config.records_path:
            raise ConnectorError(f"{display_url(url)}: no {self.config.records_path!r} in the response body")
        if isinstance(found, dict) and not self.config.records_path:
            found = [found]
        if not isinstance(found, list):
            raise ConnectorError(
                f"{display_url(url)}: expected a list of records at {self.config.records_path or 'the top level'}, "
                f"got {type(found).__name__}"
            )
        return [flatten(r) if isinstance(r, dict) else {"value": r} for r in found]

    def pages(self, client: HttpClient) -> Iterator[tuple[list[dict], str]]:
        cfg = self.config
        pager = cfg.paginator
        params: dict[str, Any] = dict(cfg.params)
        if cfg.since_param and self.start_value is not None:
            params[cfg.since_param] = self.start_value
        cursor = pager.first_cursor()
        seen_urls: set[str] = set()
        last_digest = None
        for n in range(cfg.max_pages + 1):
            if n == cfg.max_pages:
                raise ConnectorError(f"{display_url(cfg.url)}: more than max_pages={cfg.max_pages} pages; stopping")
            url, query = pager.request(cfg.url, params, cursor)
            body, response = client.get_json(url, query)
            fetched = response.url or url
            if fetched in seen_urls:
                raise ConnectorError(f"pagination loop: {display_url(fetched)} was already fetched")
            seen_urls.add(fetched)
            records = self.records(body, fetched)
            digest = hashlib.sha256(response.content).hexdigest()
            if records and digest == last_digest:
                raise ConnectorError(
                    f"pagination loop: {display_url(fetched)} returned the same page as the one before"
                )
            last_digest = digest
            yield records, fetched
            cursor = pager.next_cursor(cursor, Page(records, body, response, fetched, seen_urls))
            if cursor is None:
                return

    def batches(self) -> Iterator[list[dict]]:
        client = HttpClient(self, self.config.auth, self.config.headers, self.config.verify_tls)
        buffer: list[dict] = []
        try:
            for records, _ in self.pages(client):
                buffer.extend(records)
                if len(buffer) >= self.config.batch_size:
                    yield buffer
                    buffer = []
            if buffer:
                yield buffer
        finally:
            client.close()
