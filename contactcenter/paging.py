"""Keyset pagination for list pages over a million rows.

OFFSET pagination makes page 2,000 read and throw away 50,000 rows, and its page count needs
a COUNT(*) of every match on every page. Here a page is "the next 25 rows after (value, id)"
in the sort order, which an index on (tenant, value, id) answers in one short range scan,
whatever the depth. The count is fetched separately (see count_label), so the page never
waits for it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet


def _encode(values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _decode(cursor: str) -> list | None:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        return None
    return values if isinstance(values, list) and len(values) == 3 else None


@dataclass
class KeysetPage:
    rows: list
    start: int  # position of the first row, from 1
    next_cursor: str | None = None
    previous_cursor: str | None = None
    per_page: int = 25
    extra: dict = field(default_factory=dict)

    @property
    def end(self) -> int:
        return self.start + len(self.rows) - 1

    @property
    def number(self) -> int:
        return (self.start - 1) // self.per_page + 1


def keyset_page(
    queryset: QuerySet,
    order: str,
    *,
    after: str = "",
    before: str = "",
    per_page: int = 25,
    unique: bool = False,
) -> KeysetPage:
    """The page after cursor `after` (or before `before`), sorted by `order` ("name" or "-name") then id.

    `unique`: no two rows share a value of the column (a unique constraint's key), so the
    rows are sorted by it alone and a unique index on it serves the order as it is.
    A cursor holds (sort value, id, position of that row); a bad cursor means the first page.
    """
    column = order.lstrip("-")
    descending = order.startswith("-")
    cursor = _decode(before or after) if (before or after) else None
    backwards = bool(before) and cursor is not None
    rows_qs = queryset
    if cursor is not None:
        value, pk, _position = cursor
        ahead = (not descending) ^ backwards
        beyond = "gt" if ahead else "lt"
        if unique:
            rows_qs = rows_qs.filter(**{f"{column}__{beyond}": value})
        else:
            # "(value, id) beyond cursor", written so that the index on value can be used.
            rows_qs = rows_qs.filter(
                Q(**{f"{column}__{beyond}e": value})
                & (Q(**{f"{column}__{beyond}": value}) | Q(**{f"pk__{beyond}": pk}))
            )
    direction = "-" if descending ^ backwards else ""
    keys = [f"{direction}{column}"] if unique else [f"{direction}{column}", f"{direction}pk"]
    rows = list(rows_qs.order_by(*keys)[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    if cursor is None:
        start = 1
    elif backwards:
        start = max(1, cursor[2] - len(rows))
    else:
        start = cursor[2] + 1
    page = KeysetPage(rows=rows, start=start, per_page=per_page)
    if rows:
        has_next = more if not backwards else True
        has_previous = start > 1 if not backwards else more
        if has_next:
            page.next_cursor = _encode([getattr(rows[-1], column), rows[-1].pk, page.end])
        if has_previous:
            page.previous_cursor = _encode([getattr(rows[0], column), rows[0].pk, start])
    return page
