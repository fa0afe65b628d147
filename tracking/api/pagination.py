"""Keyset ("cursor") pagination, newest first by a time field and then by id."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime

from django.db.models import QuerySet
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from tracking.ingest import parse_timestamp


class KeysetPagination(BasePagination):
    """Pages of `(time, id)` descending; the cursor is the last row's pair.

    Unlike an offset or DRF's position+offset cursor, every row is returned exactly once however
    many rows share a timestamp and whatever is inserted meanwhile. Views name the time field in
    `cursor_field`. Forward only: `next` is null on the last page.
    """

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"
    page_size = 100
    max_page_size = 1000

    def paginate_queryset(self, queryset: QuerySet | Sequence, request, view=None) -> list:
        if not isinstance(queryset, QuerySet):
            raise TypeError("cursor pagination orders a queryset; a list has no cursor field")
        field = view.cursor_field
        size = self._page_size(request)
        rows = queryset.order_by(f"-{field}", "-pk")
        after = self._decode(request.query_params.get(self.cursor_query_param))
        if after is not None:
            moment, pk = after
            # "<= moment" gives the index a range to start from; the exclusion drops the tied
            # rows already returned (same time, id not below the cursor's).
            rows = rows.filter(**{f"{field}__lte": moment}).exclude(
                **{field: moment, "pk__gte": pk}
            )
        page = list(rows[: size + 1])
        self.next_url = None
        if len(page) > size:
            page = page[:size]
            last = page[-1]
            url = request.build_absolute_uri()
            self.next_url = replace_query_param(
                url, self.cursor_query_param, self._encode(getattr(last, field), last.pk)
            )
        return page

    def get_paginated_response(self, data) -> Response:
        return Response({"next": self.next_url, "results": data})

    def _page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: [
                        f"Must be an integer from 1 to {self.max_page_size}."
                    ]
                }
            )
        return int(raw)

    @staticmethod
    def _encode(moment: datetime, pk: int) -> str:
        return base64.urlsafe_b64encode(f"{moment.isoformat()}|{pk}".encode()).decode()

    def _decode(self, cursor: str | None) -> tuple[datetime, int] | None:
        if cursor is None:
            return None
        try:
            moment, _, pk = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
            return parse_timestamp(moment, "cursor"), int(pk)
        except (ValueError, UnicodeError):
            raise exceptions.ValidationError(
                {self.cursor_query_param: ["Invalid cursor: use the `next` link as given."]}
            ) from None

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Where the page starts: the `next` link of the previous page. "
                "It is opaque: any other value is a 400.",
                "schema": {"type": "string", "minLength": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1 to {self.max_page_size} (default "
                f"{self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


def paginated_response(view, request, queryset: QuerySet, serializer_class) -> Response:
    """One page of `queryset` through the view's pagination class, serialized."""
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)
