"""How the pages of a JSON HTTP API follow one another: one class per strategy (`paginator:` in a `rest` source).

A paginator is configuration, shared by every extract of the source, so the position reached
(an offset, a page number, the next link) is not kept on it: the request loop holds it as a
*cursor*, starting from `first_cursor()`. Each strategy says what request a cursor makes and,
from the page just fetched, where the next page is (None: that was the last).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field

from connectors.errors import ConnectorError
from connectors.http import dig, display_url, parse_link_header


@dataclass
class Page:
    """A page just fetched, as a paginator needs it to find the next one."""

    records: list[dict]
    body: Any
    response: Any  # the requests.Response
    url: str  # the URL fetched, after redirects
    seen: set[str]  # every URL fetched so far, this one included


class _Paginator(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def first_cursor(self) -> Any:
        return None

    def request(self, url: str, params: dict, cursor: Any) -> tuple[str, dict | None]:
        """The URL and query of the request for `cursor`; the first request carries `params`."""
        return url, dict(params)

    def next_cursor(self, cursor: Any, page: Page) -> Any:
        """Where the page after `page` is; None when `page` was the last."""
        return None


class NoPagination(_Paginator):
    type: Literal["none"]


class OffsetPagination(_Paginator):
    type: Literal["offset"]
    limit: int = Field(default=100, ge=1, description="records per page")
    limit_param: str = Field(default="limit", description="query parameter for the page size")
    offset_param: str = Field(default="offset", description="query parameter for the first record")
    total_path: str | None = Field(default=None, description="where the body gives the total record count, if it does")

    def first_cursor(self) -> int:
        return 0

    def request(self, url: str, params: dict, cursor: int) -> tuple[str, dict]:
        return url, {**params, self.limit_param: self.limit, self.offset_param: cursor}

    def next_cursor(self, cursor: int, page: Page) -> int | None:
        if not page.records:
            return None
        offset = cursor + len(page.records)
        total = dig(page.body, self.total_path) if self.total_path else None
        if total is None:
            # without a total, a short page is the last
            return offset if len(page.records) >= self.limit else None
        return offset if offset < int(total) else None


class PageNumberPagination(_Paginator):
    type: Literal["page_number"]
    page_param: str = Field(default="page", description="query parameter for the page number")
    start: int = Field(default=1, description="number of the first page")
    size_param: str | None = Field(default="page_size", description="query parameter for the page size")
    size: int = Field(default=100, ge=1, description="records per page")
    total_pages_path: str | None = Field(default=None, description="where the body gives the page count, if it does")

    def first_cursor(self) -> int:
        return self.start

    def request(self, url: str, params: dict, cursor: int) -> tuple[str, dict]:
        query = {**params, self.page_param: cursor}
        if self.size_param:
            query[self.size_param] = self.size
        return url, query

    def next_cursor(self, cursor: int, page: Page) -> int | None:
        if not page.records:
            return None
        pages = dig(page.body, self.total_pages_path) if self.total_pages_path else None
        if pages is None:
            # without a page count, a short page is the last
            return cursor + 1 if len(page.records) >= self.size else None
        return cursor + 1 if cursor - self.start + 1 < int(pages) else None


class _LinkPagination(_Paginator):
    """The server gives the next page's URL; it already carries the query, so `params` go only
    with the first request. The cursor is that URL (None before the first page)."""

    def request(self, url: str, params: dict, cursor: str | None) -> tuple[str, dict | None]:
        return (url, dict(params)) if cursor is None else (cursor, None)

    def next_cursor(self, cursor: str | None, page: Page) -> str | None:
        nxt = self.next_link(page)
        if not nxt:
            return None
        url = urljoin(page.url, str(nxt))
        if url in page.seen:
            raise ConnectorError(
                f"pagination loop: the next link of {display_url(page.url)} points back to {display_url(url)}"
            )
        return url

    def next_link(self, page: Page) -> Any:
        raise NotImplementedError


class NextLinkPagination(_LinkPagination):
    type: Literal["next_link"]
    path: str = Field(default="next", description="dotted path of the next page's URL in the body, e.g. links.next")

    def next_link(self, page: Page) -> Any:
        return dig(page.body, self.path)


class LinkHeaderPagination(_LinkPagination):
    type: Literal["link_header"]

    def next_link(self, page: Page) -> Any:
        return parse_link_header(page.response.headers.get("Link")).get("next")


Paginator = Annotated[
    NoPagination | OffsetPagination | PageNumberPagination | NextLinkPagination | LinkHeaderPagination,
    Field(discriminator="type"),
]
