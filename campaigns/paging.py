"""Keyset pages sorted by a column that may be blank, such as a contact's next try.

contactcenter.paging.keyset_page compares the cursor's value with < and >, where a blank (NULL)
has no place. Here the rows with a value come first, through keyset_page; the blank ones follow,
by id: (value, id) in the sort's direction, blanks last, as the table sorts a page. A cursor is
the same (value, id, position) triple, with a None value when it points into the blank rows.
Both parts are range scans of the index (campaign, in_processing, next_try_at, id).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.models import QuerySet

from contactcenter.paging import KeysetPage, _decode, _encode, keyset_page


@contextmanager
def serial_plans() -> Iterator[None]:
    """Queries planned without parallel workers, for a page of 26 rows.

    With a filter the index does not cover (state, priority, an address), PostgreSQL plans the
    keyset scan with two parallel workers: starting them took 7-13 ms of the 2-5 ms such a
    page needs (bench/campaign_contacts.py, 1M contacts). Session-wide, then reset, as the
    page runs outside a transaction.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET max_parallel_workers_per_gather")


def keyset_page_blanks_last(
    queryset: QuerySet, order: str, *, after: str = "", before: str = "", per_page: int = 25
) -> KeysetPage:
    column = order.lstrip("-")
    cursor = _decode(before or after) if (before or after) else None
    if before and cursor is not None:
        rows, more = _rows_before(queryset, order, cursor, before, per_page)
        start, has_next, has_previous = max(1, cursor[2] - len(rows)), True, more
    else:
        rows, more = _rows_after(queryset, order, cursor, after, per_page)
        start = cursor[2] + 1 if cursor else 1
        has_next, has_previous = more, start > 1
    page = KeysetPage(rows=rows, start=start, per_page=per_page)
    if rows and has_next:
        page.next_cursor = _encode([getattr(rows[-1], column), rows[-1].pk, page.end])
    if rows and has_previous:
        page.previous_cursor = _encode([getattr(rows[0], column), rows[0].pk, start])
    return page


def _parts(queryset: QuerySet, order: str) -> tuple[QuerySet, QuerySet, str]:
    """The rows with a value; the blank ones in page order (by id, in the sort's direction);
    the lookup that reads blanks further on in that order."""
    column, descending = order.lstrip("-"), order.startswith("-")
    valued = queryset.filter(**{f"{column}__isnull": False})
    blanks = queryset.filter(**{f"{column}__isnull": True})
    return valued, blanks.order_by("-pk" if descending else "pk"), "lt" if descending else "gt"


def _rows_after(queryset, order, cursor, after, per_page) -> tuple[list, bool]:
    """The page's rows from the cursor on, and whether more follow."""
    valued, blanks, further = _parts(queryset, order)
    rows = []
    if cursor is None or cursor[0] is not None:
        part = keyset_page(valued, order, after=after if cursor else "", per_page=per_page)
        if part.next_cursor:
            return part.rows, True
        rows = part.rows
    else:
        blanks = blanks.filter(**{f"pk__{further}": cursor[1]})
    need = per_page - len(rows)
    tail = list(blanks[: need + 1])
    return rows + tail[:need], len(tail) > need


def _rows_before(queryset, order, cursor, before, per_page) -> tuple[list, bool]:
    """The page's rows before the cursor, in page order, and whether more precede them."""
    valued, blanks, further = _parts(queryset, order)
    if cursor[0] is not None:
        part = keyset_page(valued, order, before=before, per_page=per_page)
        return part.rows, part.previous_cursor is not None
    back = "lt" if further == "gt" else "gt"
    found = list(blanks.filter(**{f"pk__{back}": cursor[1]}).reverse()[: per_page + 1])
    if len(found) > per_page:
        return found[:per_page][::-1], True
    need = per_page - len(found)
    column = order.lstrip("-")
    # The last rows with a value: the valued part read from its end.
    backwards = "" if order.startswith("-") else "-"
    tail = list(valued.order_by(f"{backwards}{column}", f"{backwards}pk")[: need + 1])
    return tail[:need][::-1] + found[::-1], len(tail) > need
