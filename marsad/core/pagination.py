"""Page-number pagination for every list endpoint: ``?page=&page_size=``, with the totals a client
needs to walk the pages (``count``, ``page``, ``page_size``, ``pages``)."""

import math
from typing import Any

from ninja import Field, Schema
from ninja.pagination import PaginationBase

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_PAGE = 1_000_000  # keeps the offset within what the databases accept


class PagePagination(PaginationBase):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1")
        page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page")

    class Output(Schema):
        count: int
        page: int
        page_size: int
        pages: int
        items: list[Any]

    items_attribute = "items"

    def paginate_queryset(self, queryset, pagination: Input, **params) -> dict:
        count = self._items_count(queryset)
        offset = (pagination.page - 1) * pagination.page_size
        return {
            "count": count,
            "page": pagination.page,
            "page_size": pagination.page_size,
            "pages": max(1, math.ceil(count / pagination.page_size)),
            "items": list(queryset[offset : offset + pagination.page_size]),
        }
