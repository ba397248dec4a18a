"""Keyword and number searches over external contacts, through their search rows.

A condition is written once, as a function of the name of the text field, and asked of the
search table (ContactSearch: indexed) and, while an import's contacts wait for their search
rows (SearchBacklog), of those contacts themselves over the recorded id ranges (a scan of
the ranges, by primary key). Every contact is found either way; only the speed differs.

With no range waiting, the contacts are joined to their search rows, whose name key (the
contacts' own, copied) then gives the order: a page sorted by name walks the search table's
index (tenant, name key) and tests each text there, then reads its 25 contacts.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import F, Q, QuerySet

from addressbook.models import ContactSearch, SearchBacklog, search_text
from contactcenter.models import Tenant

# condition(text, prefix): the Q for the text field named `text` and the number fields
# named with `prefix` ("search_row__phone_e164", say).
Condition = Callable[[str, str], Q]


def pending_ranges(tenant: Tenant) -> list[tuple[int, int]]:
    """The tenant's id ranges still waiting for search rows, overlapping ones merged."""
    merged: list[tuple[int, int]] = []
    backlog = SearchBacklog.objects.filter(tenant=tenant).values_list("first_id", "last_id")
    for first, last in sorted(backlog):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def filter_contacts(queryset: QuerySet, tenant: Tenant, condition: Condition) -> QuerySet:
    """The contacts of `queryset` (all of `tenant`) whose searched text meets `condition`.

    They carry `name_key` (see models.name_key), from their search rows when every contact
    has one, so that sorting by it walks the search table's index.
    """
    ranges = pending_ranges(tenant)
    if not ranges:
        # The search rows' tenant too: it leads the index that gives the order.
        matching = condition("search_row__text", "search_row__")
        return queryset.filter(matching, search_row__tenant=tenant).annotate(
            name_key=F("search_row__name_key")
        )
    # Not filtered by tenant here: `queryset` is the tenant's contacts (see ContactSearch.Meta).
    rows = ContactSearch.objects.filter(condition("text", ""))
    found = Q(pk__in=rows.values("contact_id"))
    waiting = Q()
    for first, last in ranges:
        waiting |= Q(pk__range=(first, last))
    return queryset.alias(search_text=search_text()).filter(
        found | (waiting & condition("search_text", ""))
    )


def words(text: str, e164: str | None = None) -> Condition:
    """Every word of `text` appears in some column; or one of the numbers is `e164`."""

    def condition(field: str, prefix: str) -> Q:
        match = Q()
        for word in text.lower().split():
            match &= Q(**{f"{field}__contains": word})
        if e164:
            match |= _numbers(prefix, e164)
        return match

    return condition


def number(e164: str) -> Condition:
    return lambda _field, prefix: _numbers(prefix, e164)


def _numbers(prefix: str, e164: str) -> Q:
    return Q(**{f"{prefix}phone_e164": e164}) | Q(**{f"{prefix}mobile_e164": e164})


def digits(typed: str) -> Condition:
    """Part of a number, as typed ("01 23") or without its spaces ("0123")."""
    compact = typed.lower().replace(" ", "")

    def condition(field: str, _prefix: str) -> Q:
        return Q(**{f"{field}__contains": typed.lower()}) | Q(**{f"{field}__contains": compact})

    return condition
