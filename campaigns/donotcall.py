"""Do-not-call lists: one way to write a value, and the Blocked state of the addresses they match.

An address is Blocked while its value is in an unexpired entry (no expiry date, or one not yet
past) of a list attached to its campaign; a Blocked address is never launched. Every write is
a set-based UPDATE, run per campaign (a campaign's attached lists are one subquery).

Who calls what:
- the contact import, before writing a batch: blocked_values() and initial_states();
- the contact pages, after creating or editing contacts: block_matching(contact_ids=[…]);
- the campaign form, after attaching or detaching lists: refresh_blocks(campaign=…);
- this module's services, when a list's entries change (entry added or removed, list deleted,
  import or its undo): dnc_list_changed(dnc_list=…, values=…).

A Blocked address that no longer matches (list detached, entry removed or expired) goes back to
Waiting — or to Failed when it had already used the campaign's attempts — at the next
refresh_blocks().

Expiry passes without any write, and there is no scheduler: an entry blocks up to and including
its `expires_on` day (the project's time zone) and stops the day after. refresh_expired_if_due()
lifts the blocks of entries expired since its last run, once a day per tenant; the dialer's
"next contacts" call and the campaign's contacts page call it. `manage.py refresh_donotcall`
(for cron, nightly) recomputes every block of every tenant, which also repairs entries edited
in the admin.

Blocking the Scheduled address of a contact would leave it with nothing to launch: after any
change, a contact with no Scheduled or Rescheduled address has its first Waiting one Scheduled.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, Exists, F, Lookup, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import (
    Campaign,
    CampaignContact,
    ContactAddress,
    DoNotCallEntry,
    DoNotCallList,
)
from contactcenter.emails import email_is_valid
from contactcenter.models import Tenant
from contactcenter.phones import InvalidPhone, PhoneReader

State = ContactAddress.State
# States a block may replace; Failed stays Failed (its attempts are used up either way).
BLOCKABLE = (State.SCHEDULED, State.RESCHEDULED, State.WAITING)
# Digits with what people put between them, maybe a leading "+": a phone number, not a name.
_PHONE_CHARS = frozenset("0123456789+ .-/()\u00a0\u202f\t")


class InvalidAddress(ValueError):
    """Neither a valid phone number nor a valid email; str() is the reason, for the user."""


class Refreshed(NamedTuple):
    blocked: int
    unblocked: int


# --- one way to write a value ----------------------------------------------------------------


def looks_like_phone(raw: str) -> bool:
    return sum(c.isdigit() for c in raw) >= 6 and set(raw) <= _PHONE_CHARS


def normalise(raw: str, phones: PhoneReader) -> str:
    """An address or do-not-call value as stored: an email lower-cased, a number in E.164.

    Numbers are read in the tenant's region (`PhoneReader(tenant.default_phone_region)`); digits
    alone that are no national number are tried as an international one written without "+"
    ("33612345678", as opposition lists often write them). Raises InvalidAddress.
    """
    value = raw.strip()
    if "@" in value:
        if not email_is_valid(value):
            raise InvalidAddress(_("“%(value)s” is not a valid email address") % {"value": value})
        return value.lower()
    try:
        return phones.e164(value)
    except InvalidPhone:
        pass
    if value.isascii() and value.isdigit():
        try:
            return phones.e164("+" + value)
        except InvalidPhone:
            pass
    raise InvalidAddress(_("“%(value)s” is not a valid phone number or email") % {"value": value})


# --- blocking ------------------------------------------------------------------------------


def blocked_values(*, tenant: Tenant, campaign: Campaign, values: Iterable[str]) -> set[str]:
    """Which of `values` an unexpired entry of a list attached to the campaign holds.

    One query on the entries' (tenant, value) index: an import asks it once per batch, before
    writing, and gives new addresses their states at once (see initial_states).
    """
    attached = Campaign.do_not_call_lists.through.objects.filter(campaign_id=campaign.pk)
    entries = DoNotCallEntry.objects.for_tenant(tenant).filter(
        _unexpired(), _among(list(values)), dnc_list_id__in=attached.values("donotcalllist_id")
    )
    return set(entries.values_list("value", flat=True))


def initial_states(values: list[str], blocked: set[str]) -> list[str]:
    """The states of a new contact's addresses, in order: blocked ones Blocked, the first other
    one Scheduled, the rest Waiting."""
    states, scheduled = [], False
    for value in values:
        if value in blocked:
            states.append(State.BLOCKED)
        else:
            states.append(State.WAITING if scheduled else State.SCHEDULED)
            scheduled = True
    return states


def block_matching(
    *,
    tenant: Tenant,
    campaign: Campaign | None = None,
    contact_ids: Iterable[int] | None = None,
    values: Iterable[str] | None = None,
) -> int:
    """Block the addresses (of the campaign, of those contacts, with those values) that an
    unexpired entry of a list attached to their campaign matches; return how many."""
    values = list(values) if values is not None else None
    with transaction.atomic():
        return sum(
            _block(tenant, scope, values) for scope in _scopes(tenant, campaign, contact_ids)
        )


def refresh_blocks(
    *,
    tenant: Tenant,
    campaign: Campaign | None = None,
    contact_ids: Iterable[int] | None = None,
    values: Iterable[str] | None = None,
) -> Refreshed:
    """Recompute Blocked in the scope (nothing given: every campaign of the tenant): release
    what no longer matches, then block what does."""
    values = list(values) if values is not None else None
    blocked = unblocked = 0
    with transaction.atomic():
        for scope in _scopes(tenant, campaign, contact_ids):
            unblocked += _release(tenant, scope, values)
            blocked += _block(tenant, scope, values)
    return Refreshed(blocked=blocked, unblocked=unblocked)


def refresh_expired(
    *, tenant: Tenant, today: datetime.date, since: datetime.date | None = None
) -> int:
    """Release the addresses that entries expired before `today` (and, given `since`, not
    before it) blocked and no live entry blocks any more; return how many.

    Set-based, per campaign with lists: the released values are a subquery on the expired
    entries of its lists, so the work follows the entries that expired, not the addresses.
    """
    released = 0
    with transaction.atomic():
        for scope in _scopes(tenant, None, None):
            if scope.has_lists:
                released += _release(tenant, scope, _expired_values(tenant, scope, today, since))
    return released


def refresh_expired_if_due(*, tenant: Tenant) -> int | None:
    """refresh_expired() for the entries expired since the last run, unless it ran today
    already (None). The last run's date is kept in the cache: without it (another process
    with the default local-memory cache, a restart) every expired entry is looked at."""
    key, today = f"campaigns:dnc-refreshed:{tenant.pk}", timezone.localdate()
    last = cache.get(key)
    if last == today:
        return None
    released = refresh_expired(tenant=tenant, today=today, since=last)
    transaction.on_commit(lambda: cache.set(key, today, timeout=7 * 24 * 3600))
    return released


def _expired_values(tenant, scope: _Scope, today, since) -> QuerySet:
    attached = Campaign.do_not_call_lists.through.objects.filter(campaign_id=scope.campaign_id)
    expired = DoNotCallEntry.objects.for_tenant(tenant).filter(
        expires_on__lt=today, dnc_list_id__in=attached.values("donotcalllist_id")
    )
    if since is not None:
        # Entries expired before `since` were released by that run, or by the write that made
        # them so.
        expired = expired.filter(expires_on__gte=since)
    return expired.values("value")


def dnc_list_changed(*, dnc_list: DoNotCallList, values: Iterable[str] | None = None) -> Refreshed:
    """Refresh every campaign the list is attached to; `values`: only the entries that changed."""
    values = list(values) if values is not None else None
    total = Refreshed(0, 0)
    for campaign in dnc_list.campaign_set.all():
        changes = refresh_blocks(tenant=dnc_list.tenant, campaign=campaign, values=values)
        total = Refreshed(total.blocked + changes.blocked, total.unblocked + changes.unblocked)
    return total


@dataclass(frozen=True)
class _Scope:
    campaign_id: int
    max_attempts: int
    has_lists: bool
    # None: every contact of the campaign.
    contact_ids: list[int] | None


def _scopes(tenant, campaign, contact_ids) -> list[_Scope]:
    """The campaigns in scope, each with its contacts in scope."""
    attached = Campaign.do_not_call_lists.through.objects.filter(campaign_id=OuterRef("pk"))
    campaigns = Campaign.objects.for_tenant(tenant).annotate(has_lists=Exists(attached))
    if campaign is not None:
        campaigns = campaigns.filter(pk=campaign.pk)
    by_campaign: dict[int, list[int]] | None = None
    if contact_ids is not None:
        # Grouped here once, so that each UPDATE reads `contact_id IN (ids)` and no join.
        by_campaign = defaultdict(list)
        contacts = CampaignContact.objects.for_tenant(tenant).filter(pk__in=list(contact_ids))
        for pk, campaign_id in contacts.values_list("pk", "campaign_id"):
            by_campaign[campaign_id].append(pk)
        campaigns = campaigns.filter(pk__in=list(by_campaign))
    return [
        _Scope(pk, max_attempts, has_lists, by_campaign[pk] if by_campaign is not None else None)
        for pk, max_attempts, has_lists in campaigns.values_list("pk", "max_attempts", "has_lists")
    ]


def _addresses(tenant, scope: _Scope, values: list[str] | QuerySet | None) -> QuerySet:
    addresses = ContactAddress.objects.for_tenant(tenant)
    if scope.contact_ids is not None:
        addresses = addresses.filter(contact_id__in=scope.contact_ids)
    else:
        contacts = CampaignContact.objects.for_tenant(tenant).filter(campaign_id=scope.campaign_id)
        # contact_id IN (SELECT …), not a join: the UPDATE stays a plain UPDATE … WHERE.
        addresses = addresses.filter(contact_id__in=contacts.values("pk"))
    if values is not None:
        addresses = addresses.filter(_among(values))
    return addresses


def _block(tenant, scope: _Scope, values: list[str] | None) -> int:
    if not scope.has_lists:
        return 0
    addresses = _addresses(tenant, scope, values)
    blocked = (
        addresses.filter(state__in=BLOCKABLE)
        .filter(live_entry_matches(tenant, scope.campaign_id))
        .update(state=State.BLOCKED)
    )
    if blocked:
        _schedule_next(tenant, scope, addresses, values)
    return blocked


def _release(tenant, scope: _Scope, values: list[str] | QuerySet | None) -> int:
    """Blocked addresses nothing matches any more: Waiting, or Failed if their attempts are used."""
    addresses = _addresses(tenant, scope, values)
    released = (
        addresses.filter(state=State.BLOCKED)
        .exclude(live_entry_matches(tenant, scope.campaign_id))
        .update(
            state=Case(
                When(attempts__gte=scope.max_attempts, then=Value(State.FAILED)),
                default=Value(State.WAITING),
            )
        )
    )
    if released:
        _schedule_next(tenant, scope, addresses, values)
    return released


def live_entry_matches(tenant, campaign_id) -> Exists:
    """An unexpired entry of a list attached to the campaign has the address's value."""
    attached = Campaign.do_not_call_lists.through.objects.filter(campaign_id=campaign_id)
    return Exists(
        DoNotCallEntry.objects.for_tenant(tenant).filter(
            _unexpired(),
            dnc_list_id__in=attached.values("donotcalllist_id"),
            value=OuterRef("value"),
        )
    )


class _AnyOf(Lookup):
    """`column = ANY(%s)`: one array parameter where `IN (…)` takes one per value (a batch's
    ten thousand numbers cost psycopg a tenth of a second to bind)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, self.rhs]


def _among(values: list[str] | QuerySet) -> Q | Lookup:
    """value IN values; on PostgreSQL a list as one array."""
    if connection.vendor == "postgresql" and not isinstance(values, QuerySet):
        return _AnyOf(F("value"), values)
    return Q(value__in=values)


def _unexpired() -> Q:
    """Entries with no expiry date, or one not yet past: the day itself still blocks."""
    return Q(expires_on__isnull=True) | Q(expires_on__gte=timezone.localdate())


def _schedule_next(tenant, scope: _Scope, addresses: QuerySet, values) -> int:
    """Contacts in scope with nothing Scheduled: their first Waiting address becomes it."""
    waiting = ContactAddress.objects.filter(contact_id=OuterRef("contact_id"), state=State.WAITING)
    has_next = ContactAddress.objects.filter(
        contact_id=OuterRef("contact_id"), state__in=(State.SCHEDULED, State.RESCHEDULED)
    )
    candidates = _addresses(tenant, scope, None)
    if values is not None:
        # Only the contacts that have one of the values.
        candidates = candidates.filter(contact_id__in=addresses.values("contact_id"))
    return (
        candidates.filter(state=State.WAITING)
        .exclude(Exists(has_next))
        .exclude(Exists(waiting.filter(position__lt=OuterRef("position"))))
        .update(state=State.SCHEDULED)
    )


# --- entry and list services -----------------------------------------------------------------


@transaction.atomic
def dnc_entry_add(
    *, dnc_list: DoNotCallList, value: str, expires_on: datetime.date | None
) -> tuple[DoNotCallEntry, bool]:
    """Add a normalised value (an existing one takes the new expiry); block what it matches."""
    entry, created = DoNotCallEntry.objects.update_or_create(
        dnc_list=dnc_list,
        value=value,
        defaults={"expires_on": expires_on, "tenant": dnc_list.tenant},
    )
    dnc_list_changed(dnc_list=dnc_list, values=[value])
    return entry, created


@transaction.atomic
def dnc_entry_delete(*, entry: DoNotCallEntry) -> None:
    entry.delete()
    dnc_list_changed(dnc_list=entry.dnc_list, values=[entry.value])


@transaction.atomic
def dnc_list_delete(*, dnc_list: DoNotCallList) -> None:
    """Delete the list and its entries; release what only it blocked."""
    campaigns = list(dnc_list.campaign_set.all())
    dnc_list.delete()
    for campaign in campaigns:
        refresh_blocks(tenant=campaign.tenant, campaign=campaign)
