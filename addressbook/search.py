"""Keyword and number searches over external contacts, through their search rows.

A condition is written once, as a function of the name of the text field, and asked of the
search table (ContactSearch: indexed) and, while an import's contacts wait for their search
rows (SearchBacklog), of those contacts themselves over the recorded id ranges (a scan of
the ranges, by primary key). Every contact is found either way; only the speed differs.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q, QuerySet

from addressbook.models import ContactSearch, SearchBacklog, search_text
from contactcenter.models import Tenant

Condition = Callable[[str], Q]


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
    """The contacts of `queryset` (all of `tenant`) whose searched text meets `condition`."""
    # Not filtered by tenant here: `queryset` is the tenant's contacts (see ContactSearch.Meta).
    rows = ContactSearch.objects.filter(condition("text"))
    found = Q(pk__in=rows.values("contact_id"))
    ranges = pending_ranges(tenant)
    if not ranges:
        return queryset.filter(found)
    waiting = Q()
    for first, last in ranges:
        waiting |= Q(pk__range=(first, last))
    return queryset.alias(search_text=search_text()).filter(
        found | (waiting & condition("search_text"))
    )


def words(text: str, e164: str | None = None) -> Condition:
    """Every word of `text` appears in some column; or one of the numbers is `e164`."""

    def condition(field: str) -> Q:
        match = Q()
        for word in text.lower().split():
            match &= Q(**{f"{field}__contains": word})
        if e164:
            match |= Q(phone_e164=e164) | Q(mobile_e164=e164)
        return match

    return condition


def number(e164: str) -> Condition:
    return lambda _field: Q(phone_e164=e164) | Q(mobile_e164=e164)


def digits(typed: str) -> Condition:
    """Part of a number, as typed ("01 23") or without its spaces ("0123")."""
    compact = typed.lower().replace(" ", "")

    def condition(field: str) -> Q:
        return Q(**{f"{field}__contains": typed.lower()}) | Q(**{f"{field}__contains": compact})

    return condition
