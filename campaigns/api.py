"""The dialer hand-off: a tenant's dialer asks for the next contacts of a campaign to call,
claiming them, and reports each attempt's outcome.

JSON over HTTP, authenticated by `Authorization: Bearer <token>` (a `DialerToken` of the
tenant; only its hash is stored). The token's tenant scopes every lookup: another tenant's
campaign or contact is a 404. Errors are `{"errors": [{"field": …, "reason": …}]}`.

A claim is a lease: a contact claimed (Running) and not reported on within
`DIALER_CLAIM_LEASE_MINUTES` of its last write (`updated_at`, stamped by the claim) goes back
in line, so that a dialer that crashed holds nothing for ever. Each call records what it
claimed in one `DialerClaim` row, which is how they are found again (a claim writes no index
entry on the contacts, see CampaignContact.queued). No scheduler does it: the next
"next contacts" call for the campaign releases them in its own transaction, before it claims
(`manage.py release_dialer_claims` does it for every campaign). A late report on a released
contact is still recorded while the contact is Waiting or Running again: the call did happen,
and its outcome (a sale, a wrong number) must not be lost. A report on a contact closed since
(Done, Failed…) is refused (409). Without a claim id per contact, a report cannot tell which
dialer it comes from: the lease must be longer than the longest call.

Before it claims, the call refreshes the tenant's do-not-call blocks whose entries expired (at
most once a day, see donotcall.refresh_expired_if_due), and re-checks the lists on the contacts
it hands out, so that an address a live entry matches is never given.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import psycopg
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, Exists, OuterRef, QuerySet, Subquery, Value, When
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from campaigns import donotcall, scheduling, services
from campaigns.models import (
    CallAttempt,
    CallingRules,
    Campaign,
    CampaignContact,
    ContactAddress,
    ContactList,
    DialerClaim,
    DialerToken,
    QualificationCode,
)
from contactcenter.models import Tenant

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# Candidates read per query (at least), and at most per request: contacts whose window is
# closed are moved to their next slot as they are seen, so the next request skips them.
MIN_CHUNK = 100
MAX_SCANNED = 5000
DIALABLE = (ContactAddress.State.SCHEDULED, ContactAddress.State.RESCHEDULED)
# An attempt may be reported on any address the contact may still be called on.
CALLABLE = (*DIALABLE, ContactAddress.State.WAITING)
# A contact an attempt may be reported on: claimed, or back in line after its claim expired.
REPORTABLE = (CampaignContact.State.RUNNING, CampaignContact.State.WAITING)
# How often a campaign's expired claims are looked for (a read of its DialerClaim rows older
# than the lease).
RELEASE_EVERY_SECONDS = 60
# A token's last use is written at most this often: a write (and a commit) per call otherwise.
LAST_USED_PRECISION = timedelta(minutes=1)
# The dialer's order: top priority, priority, next try (never tried first among equals), id.
DIALER_ORDER = ("-top_priority", "-priority", "next_try_at", "id")
# What a claim reads of a contact: the order, the calling window, the hand-off.
CLAIM_FIELDS = ("top_priority", "priority", "next_try_at", "time_zone", "schedule_note",
                "external_id", "custom_fields")  # fmt: skip
# What the dialer is given of the address to dial.
DIAL_FIELDS = ("value", "kind", "position")
ACTIVE_LISTS_SQL = "SELECT id FROM campaigns_contactlist WHERE campaign_id = %s AND state = %s"


# --- the dialer's operations ------------------------------------------------------------------


def contacts_claim(
    *, campaign: Campaign, limit: int, now: datetime
) -> list[tuple[Candidate | CampaignContact, Dial]]:
    """The next `limit` contacts to dial now, each with the address to dial, switched to
    Running in the same transaction; rows another dialer holds are skipped, never shared.
    Expired claims are released and expired do-not-call blocks lifted first."""
    if campaign.state != Campaign.State.RUNNING:
        return []
    donotcall.refresh_expired_if_due(tenant=campaign.tenant)
    rules = campaign.calling_rules
    chosen: list[Candidate | CampaignContact] = []
    moved: list[Candidate | CampaignContact] = []
    with transaction.atomic():
        _release_expired_claims_now_and_then(campaign, now)
        # Without rules every candidate is open: read exactly `limit`.
        chunk = limit if rules is None else max(limit, MIN_CHUNK)
        due = _due_in_dialer_order(campaign, now, chunk)
        candidates = itertools.islice(due, MAX_SCANNED)
        while len(chosen) < limit and (batch := list(itertools.islice(candidates, chunk))):
            open_now = _sort_by_window(rules, batch, now, moved)
            chosen += open_now[: limit - len(chosen)]
        # Written once all is read, so that the chunks' offsets stay right.
        _save_next_tries(moved)
        addresses = _address_to_dial_unless_blocked(campaign, chosen)
        # An address blocked since the candidates were read leaves its contact unclaimed.
        chosen = [contact for contact in chosen if contact.pk in addresses]
        _claim(campaign, [contact.pk for contact in chosen], now)
    return [(contact, addresses[contact.pk]) for contact in chosen]


def claims_release_expired(*, campaign: Campaign, now: datetime) -> int:
    """Put back in line (Waiting, or held by its stopped list) every contact of the campaign
    claimed more than the lease ago and not reported on since; return how many.

    The claims are the campaign's DialerClaim rows older than the lease; their contacts still
    Running and not written since the lease began are released, and the rows deleted: the
    others were reported on, released, or claimed again (a newer row holds them). The claim's
    time is the contact's `updated_at`: the claim stamps it, and any later write only makes
    the lease start later. Rows locked meanwhile (a report being recorded, another release)
    are skipped: they are not stuck.
    """
    cutoff = now - timedelta(minutes=settings.DIALER_CLAIM_LEASE_MINUTES)
    with transaction.atomic():
        claims = list(
            DialerClaim.objects.filter(campaign=campaign, claimed_at__lt=cutoff)
            .select_for_update(skip_locked=True)
            .values_list("pk", "contacts")
        )
        if not claims:
            return 0
        DialerClaim.objects.filter(pk__in=[pk for pk, _ids in claims]).delete()
        ids = sorted({pk for _claim, contacts in claims for pk in contacts})
        due = (
            CampaignContact.objects.for_tenant(campaign.tenant)
            .filter(pk__in=ids, campaign=campaign, state=CampaignContact.State.RUNNING)
            .filter(updated_at__lt=cutoff)
        )
        expired = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True))
        # One locked now and still Running after its lock is let go must not lose its record:
        # it is recorded again, at its own time, for the next release to find.
        skipped = dict(due.exclude(pk__in=expired).values_list("pk", "updated_at"))
        if skipped:
            oldest = min(skipped.values())
            services.claims_record(campaign=campaign, contact_ids=list(skipped), now=oldest)
        if not expired:
            return 0
        back = services.back_in_line(services.held_lists(campaign))
        return CampaignContact.objects.filter(pk__in=expired).update(state=back, updated_at=now)


def _release_expired_claims_now_and_then(campaign: Campaign, now: datetime) -> None:
    """claims_release_expired() at most once per RELEASE_EVERY_SECONDS of `now` per campaign
    (per cache: each process on its own with the default local-memory cache)."""
    slot = int(now.timestamp()) // RELEASE_EVERY_SECONDS
    key = f"campaigns:claims-released:{campaign.pk}:{slot}"
    if cache.add(key, True, timeout=2 * RELEASE_EVERY_SECONDS):
        claims_release_expired(campaign=campaign, now=now)


@dataclass(frozen=True)
class Outcome:
    address: ContactAddress
    qualification: QualificationCode | None
    reschedule_at: datetime | None


@transaction.atomic
def attempt_record(*, contact: CampaignContact, outcome: Outcome, now: datetime) -> CallAttempt:
    """Record an attempt and move the address and the contact to their next states: Done on
    a final qualification; the address Failed once its attempts are spent, and the contact
    Failed when no address is left to call; otherwise Waiting until its next allowed slot."""
    address, qualification = outcome.address, outcome.qualification
    attempt = CallAttempt.objects.create(
        tenant_id=contact.tenant_id,
        contact=contact,
        address=address,
        attempted_at=now,
        qualification=qualification,
    )
    final = qualification is not None and qualification.is_final
    address.attempts += 1
    spent = address.attempts >= contact.campaign.max_attempts
    if spent:
        address.state = address.State.FAILED
    elif not final:
        rescheduled = outcome.reschedule_at is not None
        address.state = address.State.RESCHEDULED if rescheduled else address.State.SCHEDULED
    address.save(update_fields=["attempts", "state"])
    contact.qualification = qualification or contact.qualification
    contact.updated_at = now
    if final or (spent and not _schedule_another_address(address)):
        contact.state = contact.State.DONE if final else contact.State.FAILED
        contact.next_try_at, contact.schedule_note = None, ""
    else:
        contact.state = contact.State.WAITING
        contact.manual_reschedules += outcome.reschedule_at is not None
        scheduling.schedule(contact, after=max(outcome.reschedule_at or now, now))
    contact.save()
    return attempt


def _schedule_another_address(failed: ContactAddress) -> ContactAddress | None:
    """The address to call after `failed`, made Scheduled if it was only Waiting; None when
    the contact has no address left to call (all failed or blocked)."""
    following = (
        ContactAddress.objects.filter(contact_id=failed.contact_id, state__in=CALLABLE)
        .exclude(pk=failed.pk)
        .order_by(_rescheduled_first(), "position")
        .first()
    )
    if following is not None and following.state == ContactAddress.State.WAITING:
        following.state = ContactAddress.State.SCHEDULED
        following.save(update_fields=["state"])
    return following


def _due_in_dialer_order(
    campaign: Campaign, now: datetime, chunk: int
) -> Iterator[Candidate | CampaignContact]:
    """Contacts that may be dialled now but for their calling window, in the dialer's order
    (DIALER_ORDER), each locked (rows another dialer holds are skipped).

    Two streams, each read in the order of its own partial index (`campaigns_contact_untried`,
    `campaigns_contact_dialer`), merged so that never-tried contacts come first among equals.
    On PostgreSQL the first `chunk` are one statement (HEADS_SQL, written once: building and
    compiling it with the ORM cost 5 ms a call) that merges the heads of both streams and locks
    only the rows it returns; past them, or elsewhere, the streams are read and locked chunk by
    chunk with the ORM. The indexes hold the contacts out on a claim too (Running, `queued`):
    each costs the read a row visit, the price of a claim that writes no index entry.
    """
    # The active lists' ids as values, not a subquery: PostgreSQL then knows from its
    # statistics how many contacts they hold, and reads the index in order instead of
    # sorting every due contact (3 ms instead of 1.1 s at 1M contacts).
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(
            (GENERIC_PLANS_SQL if postgresql else "") + ACTIVE_LISTS_SQL,
            [campaign.pk, ContactList.State.ACTIVE],
        )
        if postgresql:
            cursor.nextset()
        active = [row[0] for row in cursor.fetchall()]
    seen: set[int] = set()
    if postgresql:
        first = _heads(campaign, active, now, chunk)
        yield from first
        seen = {contact.pk for contact in first}
    dialable = ContactAddress.objects.filter(contact=OuterRef("pk"), state__in=DIALABLE)
    due = (
        CampaignContact.objects.for_tenant(campaign.tenant)
        .filter(campaign=campaign, in_processing=True, queued=True)
        .filter(Exists(dialable), state=CampaignContact.State.WAITING, contact_list__in=active)
        .only(*CLAIM_FIELDS)
        .annotate(**_hand_off(campaign))
        .select_for_update(skip_locked=True, of=("self",))
    )
    untried = due.filter(next_try_at__isnull=True).order_by(*DIALER_ORDER)
    tried = due.filter(next_try_at__lte=now).order_by(*DIALER_ORDER)
    streams = heapq.merge(
        _read_in_chunks(untried, chunk),
        _read_in_chunks(tried, chunk),
        key=lambda contact: (not contact.top_priority, -contact.priority),
    )
    yield from (contact for contact in streams if contact.pk not in seen)


class Dial(NamedTuple):
    """The address to dial, as the dialer is given it."""

    value: str
    kind: str
    position: int


@dataclass(slots=True)
class Candidate:
    """A contact read by HEADS_SQL: what the claim reads of it (CLAIM_FIELDS), its address
    to dial (None without one) and whether a live do-not-call entry holds one of its values."""

    pk: int
    external_id: str
    next_try_at: datetime | None
    schedule_note: str
    priority: int
    top_priority: bool
    time_zone: str
    custom_fields: dict
    dial: Dial | None
    listed: bool


_DIALABLE_SQL = "('scheduled', 'rescheduled')"
_CALLABLE_SQL = "('scheduled', 'rescheduled', 'waiting')"
_DUE_SQL = f"""
    SELECT c.ctid, c.top_priority, c.priority FROM campaigns_campaigncontact c
    WHERE c.tenant_id = %(tenant)s AND c.campaign_id = %(campaign)s AND c.in_processing
      AND c.queued AND c.state = 'waiting' AND c.contact_list_id = ANY(%(lists)s) AND {{when}}
      AND EXISTS (SELECT 1 FROM campaigns_contactaddress a
                  WHERE a.contact_id = c.id AND a.state IN {_DIALABLE_SQL})
    ORDER BY c.top_priority DESC, c.priority DESC, c.next_try_at, c.id
    LIMIT %(chunk)s"""  # noqa: S608 (constants only; values are parameters)
_TRIED_ABOVE_BOUND = """c.next_try_at <= %(now)s
      AND (c.top_priority, c.priority) > (COALESCE((SELECT top_priority FROM bound), false),
                                          COALESCE((SELECT priority FROM bound), -32769))"""
# The heads of both streams (each read from its partial index), merged. When the untried head
# is full, a tried contact whose (top priority, priority) is not above its last one's comes
# after all of it: the tried head is read only above that key (a bound of the index scan),
# which spares most of its reads and their address lookups. Then the heads' rows, fetched by
# their ctid (no primary key descent: 16% fewer buffers here), locked, with the conditions (one
# may have changed since it was read: a row updated meanwhile is re-read in its latest version
# and checked again); the address to dial (Rescheduled first, then by position) and the lists'
# verdict computed after the sort, for the rows returned only (an index lookup per address).
HEADS_SQL = f"""
WITH untried AS MATERIALIZED (
    {_DUE_SQL.format(when="c.next_try_at IS NULL")}
), bound AS (
    SELECT u.top_priority, u.priority FROM untried u
    WHERE (SELECT count(*) FROM untried) = %(chunk)s
    ORDER BY u.top_priority, u.priority
    LIMIT 1
), heads AS (
    SELECT ctid, top_priority, priority FROM untried
    UNION ALL
    ({_DUE_SQL.format(when=_TRIED_ABOVE_BOUND)})
)
SELECT c.id, c.external_id, c.next_try_at, c.schedule_note, c.priority, c.top_priority,
       c.time_zone, c.custom_fields,
       (SELECT ARRAY[a.value, a.kind, a.position::text] FROM campaigns_contactaddress a
        WHERE a.contact_id = c.id AND a.state IN {_DIALABLE_SQL}
        ORDER BY CASE WHEN a.state = 'rescheduled' THEN 0 ELSE 1 END, a.position
        LIMIT 1),
       EXISTS (
           SELECT 1 FROM campaigns_contactaddress a
           JOIN campaigns_donotcallentry e ON e.tenant_id = %(tenant)s AND e.value = a.value
           WHERE a.contact_id = c.id AND a.state IN {_CALLABLE_SQL}
             AND (e.expires_on IS NULL OR e.expires_on >= %(today)s)
             AND e.dnc_list_id IN (SELECT l.donotcalllist_id
                                   FROM campaigns_campaign_do_not_call_lists l
                                   WHERE l.campaign_id = %(campaign)s))
FROM campaigns_campaigncontact c
WHERE c.ctid = ANY(ARRAY(SELECT ctid FROM heads))
  AND c.tenant_id = %(tenant)s AND c.campaign_id = %(campaign)s AND c.in_processing
  AND c.queued AND c.state = 'waiting' AND (c.next_try_at IS NULL OR c.next_try_at <= %(now)s)
ORDER BY c.top_priority DESC, c.priority DESC, c.next_try_at ASC NULLS FIRST, c.id
LIMIT %(chunk)s
FOR UPDATE OF c SKIP LOCKED
"""  # noqa: S608 (constants only; values are parameters)


# For the rest of the transaction, a prepared statement runs its generic plan: HEADS_SQL's.
# Its custom plans (made anew each call, as the parameters differ) cost 2 ms of planning; the
# generic one, made once per connection, reads the same indexes in the same order (its
# parameters only choose a campaign, its lists and the time: LIMIT and the partial indexes set
# the shape).
GENERIC_PLANS_SQL = "SET LOCAL plan_cache_mode = force_generic_plan; "


def _heads(campaign: Campaign, active: list[int], now: datetime, chunk: int) -> list[Candidate]:
    """The first `chunk` due contacts of both streams, locked (HEADS_SQL; PostgreSQL only)."""
    params = {"tenant": campaign.tenant_id, "campaign": campaign.pk, "lists": active,
              "now": now, "today": timezone.localdate(), "chunk": chunk}  # fmt: skip
    with _prepared_cursor() as cursor:
        cursor.execute(HEADS_SQL, params)
        rows = cursor.fetchall()
    return [_candidate(*row) for row in rows]


def _prepared_cursor():
    """A cursor on Django's connection whose statements PostgreSQL keeps prepared, once per
    connection (psycopg's own cache). Django's cursors bind parameters on the client side,
    which prepares nothing; this one binds them on the server, and psycopg prepares on first
    use. Django's other cursors are unaffected (client-side binding never prepares). Its
    queries go through Django's execute wrappers; while queries are logged (DEBUG, tests that
    capture them) Django's own cursor is returned instead, which can show them as sent."""
    if connection.queries_logged:
        return connection.cursor()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = 0
    return connection.make_cursor(psycopg.Cursor(raw))


def _candidate(*row) -> Candidate:
    # custom_fields comes as text (Django reads jsonb so), the address as [value, kind, position].
    *fields, custom, dial, listed = row
    custom = json.loads(custom) if isinstance(custom, str) else custom
    dial = Dial(dial[0], dial[1], int(dial[2])) if dial else None
    return Candidate(*fields, custom, dial, listed)


def _save_next_tries(moved: list[Candidate | CampaignContact]) -> None:
    fields = ("next_try_at", "schedule_note")
    contacts = [CampaignContact(pk=c.pk, **{f: getattr(c, f) for f in fields}) for c in moved]
    CampaignContact.objects.bulk_update(contacts, fields, batch_size=500)


def _claim(campaign: Campaign, ids: list[int], now: datetime) -> None:
    """Switch the contacts to Running, stamping the claim's time (the lease's start), and
    record the claim (services.claims_record). Neither column is indexed: on PostgreSQL each
    row is rewritten in place, and both writes are one statement."""
    if not ids:
        return
    if connection.vendor != "postgresql":
        services.claims_record(campaign=campaign, contact_ids=ids, now=now)
        CampaignContact.objects.filter(pk__in=ids).update(
            state=CampaignContact.State.RUNNING, updated_at=now
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [campaign.pk, now, json.dumps(ids), now, ids])


CLAIM_SQL = """
WITH claim AS (
    INSERT INTO campaigns_dialerclaim (campaign_id, claimed_at, contacts) VALUES (%s, %s, %s)
)
UPDATE campaigns_campaigncontact SET state = 'running', updated_at = %s WHERE id = ANY(%s)
"""


def _read_in_chunks(queryset: QuerySet, chunk: int) -> Iterator[CampaignContact]:
    for offset in itertools.count(0, chunk):
        rows = list(queryset[offset : offset + chunk])
        yield from rows
        if len(rows) < chunk:
            return


def _sort_by_window(
    rules: CallingRules | None,
    batch: list[Candidate | CampaignContact],
    now: datetime,
    moved: list[Candidate | CampaignContact],
) -> list[Candidate | CampaignContact]:
    """The contacts of `batch` whose calling window is open now; the others get their next
    slot and its reason, and are added to `moved` (not saved)."""
    if rules is None:
        return batch
    attempts: dict[int, list[datetime]] = defaultdict(list)
    if rules.max_attempts:
        recent = CallAttempt.objects.filter(
            contact__in=[contact.pk for contact in batch],
            attempted_at__gt=now - timedelta(days=rules.period_days + 1),
        )
        for contact_id, attempted_at in recent.values_list("contact_id", "attempted_at"):
            attempts[contact_id].append(attempted_at)
    open_now = []
    for contact in batch:
        slot = scheduling.next_slot(rules, contact.time_zone, now, attempts[contact.pk])
        if slot.at == now:
            open_now.append(contact)
        else:
            # A slot that cannot be computed (at=None) keeps its next try and says why.
            contact.next_try_at = slot.at or contact.next_try_at
            contact.schedule_note = slot.note[:200]
            moved.append(contact)
    return open_now


def _rescheduled_first() -> Case:
    return Case(When(state=ContactAddress.State.RESCHEDULED, then=Value(0)), default=Value(1))


def _hand_off(campaign: Campaign) -> dict:
    """What a candidate is read with for its hand-off: its address to dial (`dial_*`), and
    whether a live do-not-call entry of the campaign's lists holds the value of one of its
    callable addresses (`listed`, an index lookup per address). PostgreSQL computes them after
    the sort, for the rows handed out only."""
    to_dial = ContactAddress.objects.filter(contact=OuterRef("pk"), state__in=DIALABLE).order_by(
        _rescheduled_first(), "position"
    )
    callable_ = ContactAddress.objects.filter(contact=OuterRef("pk"), state__in=CALLABLE)
    listed = donotcall.live_entry_matches(campaign.tenant, campaign.pk)
    return {
        **{f"dial_{field}": Subquery(to_dial.values(field)[:1]) for field in DIAL_FIELDS},
        "listed": Exists(callable_.filter(listed)),
    }


def _address_to_dial_unless_blocked(
    campaign: Campaign, contacts: list[Candidate | CampaignContact]
) -> dict[int, Dial]:
    """The address to dial of each contact that has one, once the do-not-call lists have been
    re-checked: an entry written behind the services' back (the admin) blocks here all the same.

    The contacts come with their address to dial and whether an entry holds one of their
    values (HEADS_SQL, _hand_off); the set-based block runs only when one does, and the
    addresses are then read again.
    """
    if any(contact.listed for contact in contacts):
        ids = [contact.pk for contact in contacts]
        donotcall.block_matching(tenant=campaign.tenant, contact_ids=ids)
        return _address_to_dial(ids)
    return {contact.pk: dial for contact in contacts if (dial := _dial_of(contact)) is not None}


def _dial_of(contact: Candidate | CampaignContact) -> Dial | None:
    if isinstance(contact, Candidate):
        return contact.dial
    if contact.dial_value is None:
        return None
    return Dial(contact.dial_value, contact.dial_kind, contact.dial_position)


def _address_to_dial(contact_ids: Iterable[int]) -> dict[int, Dial]:
    """Each contact's first Scheduled or Rescheduled address (Rescheduled first, by position)."""
    addresses = (
        ContactAddress.objects.filter(contact_id__in=list(contact_ids), state__in=DIALABLE)
        .order_by("contact_id", _rescheduled_first(), "position")
        .values_list("contact_id", *DIAL_FIELDS)
    )
    first: dict[int, Dial] = {}
    for contact_id, *dial in addresses:
        first.setdefault(contact_id, Dial(*dial))
    return first


# --- HTTP ---------------------------------------------------------------------------------------


# The lookups of every call, as SQL written once: the ORM spent 0.5 to 0.9 ms of CPU building
# and compiling each (`raw()` still applies the fields' conversions).
# The token's tenant, the token's id and whether its last use is to be written (at or before
# the parameter).
TENANT_OF_DIGEST_SQL = """
SELECT n.*, t.id AS token_id, (t.last_used_at IS NULL OR t.last_used_at <= %s) AS token_stale
FROM contactcenter_tenant n JOIN campaigns_dialertoken t ON t.tenant_id = n.id
WHERE t.digest = %s
"""
# Scoped to the token's tenant, as Campaign.objects.for_tenant(tenant) would be. Its calling
# rules are read when used (campaign.calling_rules), only when it has some.
CAMPAIGN_SQL = "SELECT * FROM campaigns_campaign WHERE tenant_id = %s AND id = %s"


def _errors(status: int, **reasons: str) -> JsonResponse:
    errors = [{"field": field, "reason": str(reason)} for field, reason in reasons.items()]
    return JsonResponse({"errors": errors}, status=status)


def dialer_token_required(view: Callable) -> Callable:
    """Authenticate by bearer token and pass the token's tenant to the view; 401 otherwise.
    These views use no session or cookie, hence no login and no CSRF check."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> JsonResponse:
        scheme, _space, clear = request.headers.get("Authorization", "").partition(" ")
        now = timezone.now()
        tenant = None
        if scheme.lower() == "bearer" and clear.strip():
            stale = connection.ops.adapt_datetimefield_value(now - LAST_USED_PRECISION)
            found = Tenant.objects.raw(
                TENANT_OF_DIGEST_SQL, [stale, DialerToken.hash(clear.strip())]
            )
            tenant = next(iter(found), None)
        if tenant is None:
            response = _errors(401, Authorization=_("A valid dialer token is required."))
            response["WWW-Authenticate"] = 'Bearer realm="dialer"'
            return response
        if tenant.token_stale:
            DialerToken.objects.filter(pk=tenant.token_id).update(last_used_at=now)
        return view(request, tenant, *args, **kwargs)

    return login_not_required(csrf_exempt(wrapper))


@dialer_token_required
@require_GET
def next_contacts(request: HttpRequest, tenant: Tenant, pk: int) -> JsonResponse:
    campaign = next(iter(Campaign.objects.raw(CAMPAIGN_SQL, [tenant.pk, pk])), None)
    if campaign is None:
        return _errors(404, campaign=_("No such campaign."))
    # The token's tenant is the campaign's: no query to read it again.
    campaign.tenant = tenant
    raw = request.GET.get("limit", str(DEFAULT_LIMIT))
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_LIMIT):
        return _errors(400, limit=_("Give a whole number from 1 to %(max)d.") % {"max": MAX_LIMIT})
    claimed = contacts_claim(campaign=campaign, limit=int(raw), now=timezone.now())
    return JsonResponse(
        {"campaign": campaign.pk, "contacts": [_contact_json(c, a) for c, a in claimed]}
    )


@dialer_token_required
@require_POST
def attempts(request: HttpRequest, tenant: Tenant) -> JsonResponse:
    data, errors = _read_attempt(request.body)
    if errors:
        return _errors(400, **errors)
    with transaction.atomic():
        contact = (
            CampaignContact.objects.for_tenant(tenant)
            .select_related("campaign__calling_rules")
            .select_for_update(of=("self",))
            .filter(pk=data["contact"])
            .first()
        )
        if contact is None:
            return _errors(404, contact=_("No such contact."))
        if contact.state not in REPORTABLE:
            reason = _("The contact is not being dialled (state: %(state)s).")
            return _errors(409, contact=reason % {"state": contact.get_state_display()})
        outcome, errors = _outcome(contact, data)
        if outcome is None:
            return _errors(400, **errors)
        attempt = attempt_record(contact=contact, outcome=outcome, now=timezone.now())
    return JsonResponse(_attempt_json(attempt, contact, outcome.address), status=201)


def _read_attempt(body: bytes) -> tuple[dict, dict[str, str]]:
    """The attempt's fields, type-checked, and the reasons of those that are not right."""
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        return {}, {"body": _("Send a JSON object.")}
    errors = {}
    if not _is_int(data.get("contact")):
        errors["contact"] = _("Give the contact's id (a number).")
    if not _is_int(data.get("address")) and not (
        isinstance(data.get("address"), str) and data["address"]
    ):
        errors["address"] = _("Give the address's position (a number) or its value (text).")
    if data.get("qualification") is not None and not isinstance(data["qualification"], str):
        errors["qualification"] = _("Give a qualification code (text).")
    when = data.get("reschedule_at")
    if when is not None:
        parsed = parse_datetime(when) if isinstance(when, str) else None
        if parsed is None or timezone.is_naive(parsed):
            errors["reschedule_at"] = _(
                "Give an ISO 8601 date and time with its UTC offset, e.g. 2025-06-10T15:30:00+02:00."
            )
        data["reschedule_at"] = parsed
    return data, errors


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _outcome(contact: CampaignContact, data: dict) -> tuple[Outcome | None, dict[str, str]]:
    """Look the address and qualification up inside the contact and its campaign."""
    errors = {}
    key = "position" if _is_int(data["address"]) else "value"
    address = contact.addresses.filter(**{key: data["address"]}).first()
    if address is None:
        errors["address"] = _("The contact has no such address.")
    elif address.state not in CALLABLE:
        reason = _("This address may not be called (state: %(state)s).")
        errors["address"] = reason % {"state": address.get_state_display()}
    qualification = None
    if data.get("qualification"):
        qualification = contact.campaign.qualifications.filter(code=data["qualification"]).first()
        if qualification is None:
            errors["qualification"] = _("The campaign has no such qualification code.")
    if errors:
        return None, errors
    return Outcome(address, qualification, data.get("reschedule_at")), {}


def _contact_json(contact: Candidate | CampaignContact, address: Dial) -> dict:
    return {
        "id": contact.pk,
        "external_id": contact.external_id,
        "priority": contact.priority,
        "top_priority": contact.top_priority,
        "time_zone": contact.time_zone,
        "custom_fields": contact.custom_fields,
        "address": {"value": address.value, "kind": address.kind, "position": address.position},
    }


def _attempt_json(attempt: CallAttempt, contact: CampaignContact, address: ContactAddress) -> dict:
    return {
        "attempt": attempt.pk,
        "contact": {
            "id": contact.pk,
            "state": contact.state,
            "next_try_at": contact.next_try_at.isoformat() if contact.next_try_at else None,
            "schedule_note": contact.schedule_note,
        },
        "address": {
            "position": address.position,
            "state": address.state,
            "attempts": address.attempts,
        },
    }
