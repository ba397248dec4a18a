"""Writes on campaigns, their lists, qualification codes and contacts; the contacts' export."""

from __future__ import annotations

import secrets

from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Exists, OuterRef, QuerySet, Subquery, Value, When
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import donotcall, scheduling
from campaigns.filters import CampaignContactFilter
from campaigns.forms import FRENCH_RULES, CampaignContactForm, CampaignForm, ContactListForm
from campaigns.imports import ADDRESSES, CONTACT_COLUMNS
from campaigns.models import (
    Campaign,
    CampaignContact,
    ColumnChoice,
    ContactAddress,
    ContactList,
    DialerClaim,
)
from campaigns.tables import CHOOSABLE_COLUMNS, DEFAULT_COLUMNS
from contactcenter.jobs.exporting import Exporter
from contactcenter.models import User

State = CampaignContact.State
# The state a list's state gives its waiting contacts.
HELD_BY_LIST = {
    ContactList.State.ACTIVE: State.WAITING,
    ContactList.State.STOPPED: State.LIST_STOPPED,
    ContactList.State.SUSPENDED: State.LIST_SUSPENDED,
}
Address = ContactAddress.State


# --- campaigns ---------------------------------------------------------------------------------


def campaign_save(*, form: CampaignForm) -> Campaign | None:
    """Save a validated campaign form; None (and a form error) if it cannot be saved.

    The French preset is made for the tenant when first chosen; a change of do-not-call lists
    re-checks which of the campaign's addresses are blocked.
    """
    campaign = form.save(commit=False)
    campaign.tenant = form.tenant
    rules = form.cleaned_data["rules"]
    if rules == FRENCH_RULES:
        rules = scheduling.french_rules(form.tenant)
    campaign.calling_rules = rules or None
    before = set() if form.instance._state.adding else set(_dnc_ids(campaign))
    try:
        with transaction.atomic():
            campaign.save()
            form.save_m2m()
    except IntegrityError:
        form.add_error(
            "name", _("A campaign named “%(name)s” already exists.") % {"name": campaign.name}
        )
        return None
    if set(_dnc_ids(campaign)) != before:
        donotcall.refresh_blocks(tenant=campaign.tenant, campaign=campaign)
    return campaign


def _dnc_ids(campaign: Campaign) -> list[int]:
    return list(campaign.do_not_call_lists.values_list("pk", flat=True))


# --- contact lists -----------------------------------------------------------------------------


def contact_list_save(*, form: ContactListForm) -> tuple[ContactList, int] | None:
    """Save a list; its contacts follow a change of state. (list, contacts moved), or None."""
    previous = form.initial.get("state")
    contact_list = form.save(commit=False)
    contact_list.tenant, contact_list.campaign = form.campaign.tenant, form.campaign
    try:
        with transaction.atomic():
            contact_list.save()
            changed = contact_list.state != previous
            moved = contacts_follow_list(contact_list=contact_list) if changed else 0
    except IntegrityError:
        form.add_error("name", _("This campaign already has a list with this name."))
        return None
    return contact_list, moved


def held_lists(campaign: Campaign) -> dict[int, str]:
    """The campaign's stopped or suspended lists: {list id: list state}."""
    return dict(campaign.lists.exclude(state=ContactList.State.ACTIVE).values_list("pk", "state"))


def back_in_line(held: dict[int, str]) -> Case:
    """The state of a contact going back in line: Waiting, or the hold its list puts on it
    (List stopped, List suspended) when the list is one of `held` (see held_lists)."""
    return Case(
        *(When(contact_list_id=pk, then=Value(HELD_BY_LIST[s])) for pk, s in held.items()),
        default=Value(State.WAITING),
    )


def contacts_follow_list(*, contact_list: ContactList) -> int:
    """Give the list's waiting (or held) contacts the state its own state calls for.

    Stopped → List stopped, suspended → List suspended, active → Waiting again. Contacts done,
    failed, running, paused or shelved keep their state.
    """
    target = HELD_BY_LIST[contact_list.state]
    movable = set(HELD_BY_LIST.values()) - {target}
    return (
        CampaignContact.objects.for_tenant(contact_list.tenant)
        .filter(contact_list=contact_list, state__in=movable)
        .update(state=target, updated_at=timezone.now())
    )


# --- contacts ----------------------------------------------------------------------------------


def claims_record(*, campaign: Campaign, contact_ids: list[int], now) -> None:
    """Note that these contacts of the campaign were made Running at `now`: their lease runs
    from there (campaigns.api.claims_release_expired finds them through this row)."""
    if contact_ids:
        DialerClaim.objects.create(campaign=campaign, claimed_at=now, contacts=contact_ids)


def claim_if_set_running(contact: CampaignContact, changed: list[str]) -> None:
    """Running by hand (contact form, admin) is a claim all the same: record it, so that its
    lease runs out as a dialer's would."""
    if contact.state == State.RUNNING and "state" in changed:
        claims_record(campaign=contact.campaign, contact_ids=[contact.pk], now=contact.updated_at)


def new_external_id() -> str:
    return secrets.token_hex(6).upper()


@transaction.atomic
def contact_save(*, form: CampaignContactForm) -> CampaignContact | None:
    """Save a validated contact form with its addresses, then schedule it and apply the
    campaign's do-not-call lists. None (and a form error) if its Contact ID was taken meanwhile."""
    contact = form.save(commit=False)
    contact.tenant, contact.campaign = form.campaign.tenant, form.campaign
    contact.external_id = contact.external_id or new_external_id()
    contact.next_try_at = form.next_try_at
    contact.updated_at = timezone.now()
    if form.cleaned_data.get("launch"):  # on a new contact, for those who may launch
        contact.in_processing = True
    if contact.state in HELD_BY_LIST.values():
        contact.state = HELD_BY_LIST[contact.contact_list.state]
    try:
        with transaction.atomic():
            contact.save()
            _save_addresses(contact, form.addresses)
    except IntegrityError:
        form.add_error("external_id", _("This campaign already has a contact with this ID."))
        return None
    # The calling rules may move an asked next try to an allowed time, and say why; without
    # one the contact is launched by priority, when the dialer finds its window open.
    if contact.next_try_at is not None:
        scheduling.schedule(contact, after=contact.next_try_at)
    else:
        contact.schedule_note = ""
    contact.save(update_fields=["next_try_at", "schedule_note"])
    claim_if_set_running(contact, form.changed_data)
    donotcall.block_matching(tenant=contact.tenant, contact_ids=[contact.pk])
    return contact


def _save_addresses(contact: CampaignContact, wanted: list[tuple[str, str] | None]) -> None:
    """Write the form's address slots over the contact's first addresses, in order.

    A new or changed value starts again, with no attempt; an emptied slot is removed.
    """
    addresses = list(contact.addresses.all())
    last = max((address.position for address in addresses), default=-1)
    for slot, value in enumerate(wanted):
        address = addresses[slot] if slot < len(addresses) else None
        if value is None:
            if address is not None:
                address.delete()
            continue
        if address is None:
            last += 1
            address = ContactAddress(tenant=contact.tenant, contact=contact, position=last)
        if address.value != value[0]:
            address.state, address.attempts = Address.WAITING, 0
        address.value, address.kind = value
        address.save()
    _schedule_first_address(contact)


def _schedule_first_address(contact: CampaignContact) -> None:
    """As imports and the dialer leave them: with nothing Scheduled or Rescheduled, the first
    Waiting address is the next to be launched."""
    addresses = contact.addresses.all()
    if not addresses.filter(state__in=(Address.SCHEDULED, Address.RESCHEDULED)).exists():
        addresses.filter(pk__in=addresses.filter(state=Address.WAITING).values("pk")[:1]).update(
            state=Address.SCHEDULED
        )


def contacts_selected(*, campaign: Campaign, data: QueryDict) -> QuerySet:
    """The contacts a bulk action applies to: ticked ids, or all that match the page's filters
    (column filters, view and advanced filter). An id that is not a contact of this campaign
    makes the whole request a 404."""
    contacts = CampaignContact.objects.for_tenant(campaign.tenant).filter(campaign=campaign)
    if data.get("select_all") == "1":
        query = QueryDict(data.get("filter", ""))
        return CampaignContactFilter(query, queryset=contacts, campaign=campaign).matches
    try:
        ids = {int(pk) for pk in data.getlist("selection")}
    except ValueError:
        raise Http404("Bad selection") from None
    selected = contacts.filter(pk__in=ids)
    if not ids or selected.count() != len(ids):
        raise Http404("Unknown contact in selection")
    return selected


def selection_options(campaign: Campaign, data: QueryDict) -> dict:
    """The same selection as plain data, for an export job to replay."""
    if data.get("select_all") == "1":
        query = QueryDict(data.get("filter", ""))
        return {"campaign": campaign.pk, "filter": {key: query.getlist(key) for key in query}}
    return {"campaign": campaign.pk, "ids": sorted(int(pk) for pk in data.getlist("selection"))}


@transaction.atomic
def contacts_reset(*, campaign: Campaign, contacts: QuerySet) -> int:
    """Back to the start, in set-based SQL: the contacts Waiting (or held by their stopped or
    suspended list) with no next try; their addresses without attempts, the first that is not
    Blocked Scheduled and the others Waiting, the Blocked ones left Blocked."""
    held = held_lists(campaign)
    now = timezone.now()
    if connection.vendor == "postgresql":
        return _reset_in_one_statement(contacts, held, now)
    state = back_in_line(held)
    # Elsewhere (SQLite, one writer at a time): the contacts first, then the addresses of the
    # contacts stamped by this very update, since the filter may be on the addresses' state.
    reset = contacts.order_by().update(
        state=state, next_try_at=None, schedule_note="", updated_at=now
    )
    stamped = CampaignContact.objects.filter(campaign=campaign, updated_at=now)
    earlier = ContactAddress.objects.filter(
        contact_id=OuterRef("contact_id"), position__lt=OuterRef("position")
    ).exclude(state=Address.BLOCKED)
    ContactAddress.objects.filter(contact__in=stamped).exclude(state=Address.BLOCKED).update(
        state=Case(
            When(Exists(earlier), then=Value(Address.WAITING)), default=Value(Address.SCHEDULED)
        ),
        attempts=0,
    )
    return reset


def _reset_in_one_statement(contacts: QuerySet, held: dict[int, str], now) -> int:
    """PostgreSQL: one statement, whose parts all read the selection as it was before it."""
    try:
        sql, values = reset_sql(contacts, held, now)
    except EmptyResultSet:
        # A selection known to be empty (a filter that could not be read): nothing to do.
        return 0
    with connection.cursor() as cursor:
        # Compiling this one-off statement would cost more than it saves.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, values)
        return cursor.fetchone()[0]


def reset_sql(contacts: QuerySet, held: dict[int, str], now) -> tuple[str, list]:
    """The reset of `contacts` as one PostgreSQL statement, and its parameters; it answers how
    many contacts the selection holds.

    The selection is read once, before any write (a materialised WITH): both writes see the
    rows as they were, whatever the filter reads. Rows already as the reset leaves them are
    not written: each written row costs its new version and, unless it stays on its page
    without any indexed column changed (a heap-only tuple), an entry in every index.
    """
    select, params = contacts.order_by().values("pk").query.sql_with_params()
    stopped = [pk for pk, state in held.items() if state == ContactList.State.STOPPED]
    suspended = [pk for pk, state in held.items() if state == ContactList.State.SUSPENDED]
    contact_table, address_table = CampaignContact._meta.db_table, ContactAddress._meta.db_table
    # Scheduled for the first address that is not Blocked, Waiting for the others.
    target = (
        f"CASE WHEN EXISTS (SELECT 1 FROM {address_table} AS b WHERE b.contact_id = a.contact_id "  # noqa: S608 (our tables; values are parameters)
        f"AND b.position < a.position AND b.state <> %s) THEN %s ELSE %s END"
    )
    target_values = [Address.BLOCKED, Address.WAITING, Address.SCHEDULED]
    # Waiting, or the hold of the contact's stopped or suspended list.
    back = "CASE WHEN c.contact_list_id = ANY(%s) THEN %s WHEN c.contact_list_id = ANY(%s) THEN %s ELSE %s END"
    back_values = [stopped, State.LIST_STOPPED, suspended, State.LIST_SUSPENDED, State.WAITING]
    # The selection in the tables' order (ids grow with the rows' place in them), as one array
    # that each write reads through its index: the writes then go page after page; through a
    # hash of the selection they would go all over both tables.
    sql = (
        f"WITH selection AS MATERIALIZED (SELECT s.pk FROM ({select}) AS s ORDER BY s.pk), "  # noqa: S608 (our tables; values are parameters)
        f"addresses AS (UPDATE {address_table} AS a SET attempts = 0, state = {target} "
        f"WHERE a.contact_id = ANY(ARRAY(SELECT pk FROM selection)) AND a.state <> %s "
        f"AND (a.attempts <> 0 OR a.state <> {target})), "
        f"contacts AS (UPDATE {contact_table} AS c SET state = {back}, next_try_at = NULL, "
        f"schedule_note = '', updated_at = %s WHERE c.id = ANY(ARRAY(SELECT pk FROM selection)) "
        f"AND (c.state <> {back} OR c.next_try_at IS NOT NULL OR c.schedule_note <> '')) "
        f"SELECT count(*) FROM selection"
    )
    values = [
        *params,
        *target_values,
        Address.BLOCKED,
        *target_values,
        *back_values,
        now,
        *back_values,
    ]
    return sql, values


def contacts_move(*, contacts: QuerySet, into_processing: bool) -> int:
    """Move the contacts of the other view into contact management (True, where the dialer
    takes them: campaigns.api) or list management (False), in one UPDATE (models.MOVES)."""
    return (
        contacts.order_by()
        .filter(in_processing=not into_processing)
        .update(in_processing=into_processing, updated_at=timezone.now())
    )


@transaction.atomic
def contacts_delete(*, contacts: QuerySet) -> int:
    """Delete the selection with its addresses and attempts; there is no undo."""
    _total, by_model = contacts.order_by().only("pk").delete()
    return by_model.get(CampaignContact._meta.label, 0)


# --- the column chooser ------------------------------------------------------------------------


def columns_for(*, user: User, campaign: Campaign) -> list[str]:
    """The columns this user chose for this campaign's contacts, else the default ones."""
    chosen = (
        ColumnChoice.objects.for_tenant(campaign.tenant)
        .filter(user=user, campaign=campaign)
        .values_list("columns", flat=True)
        .first()
    )
    if chosen is None:
        return list(DEFAULT_COLUMNS)
    return [name for name in CHOOSABLE_COLUMNS if name in chosen]


def columns_save(*, user: User, campaign: Campaign, columns: list[str]) -> None:
    ColumnChoice.objects.update_or_create(
        tenant=campaign.tenant, user=user, campaign=campaign, defaults={"columns": columns}
    )


# --- export ------------------------------------------------------------------------------------

# Where each column of the import file comes from in an export, so that an export re-imports
# as it was (the list is chosen on import, not read from the file).
EXPORTED = {
    "Contact ID": "external_id",
    "Priority": "priority",
    "Top priority": "top_priority_out",
    "Time zone": "time_zone",
    "Agent": "preferred_agent__username",
    "Next try": "next_try_at",
    **{f"Address {n}": f"address_{n}" for n in range(1, ADDRESSES + 1)},
    **{f"Type {n}": f"type_{n}" for n in range(1, ADDRESSES + 1)},
}


def _address(rank: int, field: str) -> Subquery:
    """A field of the contact's address at this rank (from 0), in their order."""
    addresses = ContactAddress.objects.filter(contact=OuterRef("pk")).order_by("position", "pk")
    return Subquery(addresses.values(field)[rank : rank + 1])


class CampaignContactExporter(Exporter):
    target = "campaigns.campaigncontact"
    verbose_name = gettext_lazy("campaign contacts")
    permission = "campaigns.export_campaigncontact"
    fields = tuple((column.name, EXPORTED[column.name]) for column in CONTACT_COLUMNS)
    phone_columns = frozenset(f"Address {n}" for n in range(1, ADDRESSES + 1))
    filename = "campaign-contacts"

    def queryset(self) -> QuerySet:
        """The selection the user made in one campaign: ids, or all that its filters match."""
        campaign = Campaign.objects.for_tenant(self.tenant).filter(pk=self.options.get("campaign"))
        campaign = campaign.select_related("tenant").first()
        if campaign is None:
            return CampaignContact.objects.none()
        contacts = CampaignContact.objects.for_tenant(self.tenant).filter(campaign=campaign)
        if "ids" in self.options:
            contacts = contacts.filter(pk__in=self.options["ids"])
        else:
            query = QueryDict(mutable=True)
            for key, values in self.options.get("filter", {}).items():
                query.setlist(key, values if isinstance(values, list) else [values])
            contacts = CampaignContactFilter(query, queryset=contacts, campaign=campaign).matches
        addresses = {
            f"{name}_{n}": _address(n - 1, field)
            for n in range(1, ADDRESSES + 1)
            for name, field in (("address", "value"), ("type", "kind"))
        }
        top = Case(When(top_priority=True, then=Value("1")), default=Value("0"))
        return contacts.order_by("external_id", "pk").annotate(top_priority_out=top, **addresses)
