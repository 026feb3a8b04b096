"""How the pages of a JSON HTTP API follow one another: one class per strategy (`paginator:` in a `rest` source)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Paginator(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoPagination(_Paginator):
    type: Literal["none"]


class OffsetPagination(_Paginator):
    type: Literal["offset"]
    limit: int = Field(default=100, ge=1, description="records per page")
    limit_param: str = Field(default="limit", description="query parameter for the page size")
    offset_param: str = Field(default="offset", description="query parameter for the first record")
    total_path: str | None = Field(default=None, description="where the body gives the total record count, if it does")


class PageNumberPagination(_Paginator):
    type: Literal["page_number"]
    page_param: str = Field(default="page", description="query parameter for the page number")
    start: int = Field(default=1, description="number of the first page")
    size_param: str | None = Field(default="page_size", description="query parameter for the page size")
    size: int = Field(default=100, ge=1, description="records per page")
    total_pages_path: str | None = Field(default=None, description="where the body gives the page count, if it does")


class NextLinkPagination(_Paginator):
    type: Literal["next_link"]
    path: str = Field(default="next", description="dotted path of the next page's URL in the body, e.g. links.next")


class LinkHeaderPagination(_Paginator):
    type: Literal["link_header"]


Paginator = Annotated[
    NoPagination | OffsetPagination | PageNumberPagination | NextLinkPagination | LinkHeaderPagination,
    Field(discriminator="type"),
]
