"""Do-not-call lists: normalised values, Blocked addresses, imports (Bloctel) and the pages."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from campaigns import donotcall
from campaigns.donotcall import InvalidAddress, normalise
from campaigns.filters import CONTACT_MANAGEMENT, CampaignContactFilter
from campaigns.models import CampaignContact, ContactAddress, DoNotCallEntry, DoNotCallList
from contactcenter.models import Job
from contactcenter.phones import PhoneReader
from tests.builders import xlsx_bytes
from tests.campaigns.factories import (
    CampaignContactFactory,
    CampaignFactory,
    ContactAddressFactory,
    ContactListFactory,
    DoNotCallEntryFactory,
    DoNotCallListFactory,
)
from tests.campaigns.uploads import ENTRIES, post_import, rejections
from tests.campaigns.uploads import run_import as _run

pytestmark = pytest.mark.usefixtures("english")

State = ContactAddress.State
NUMBER, OTHER, THIRD = "+33612345678", "+33612345679", "+33612345670"
PAST = datetime.date(2020, 1, 1)
ONE_DAY = datetime.timedelta(days=1)


@pytest.fixture
def campaign(supervisor):
    return CampaignFactory(tenant=supervisor.tenant, max_attempts=3)


@pytest.fixture
def dnc(supervisor):
    return DoNotCallListFactory(tenant=supervisor.tenant, name="Bloctel")


def contact(campaign, *values: str, attempts: int = 0):
    """A contact of the campaign whose first address is Scheduled, the others Waiting."""
    person = CampaignContactFactory(contact_list__campaign=campaign)
    for position, value in enumerate(values):
        state = State.SCHEDULED if position == 0 else State.WAITING
        ContactAddressFactory(
            contact=person, position=position, value=value, state=state, attempts=attempts
        )
    return person


def states(person) -> list[str]:
    return list(person.addresses.order_by("position").values_list("state", flat=True))


# --- one way to write a value -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("06 12 34 56 78", NUMBER),
        ("+33 6 12 34 56 78", NUMBER),
        ("0033612345678", NUMBER),
        ("33612345678", NUMBER),
        ("612345678", NUMBER),
        (" Ada.Lovelace@Example.COM ", "ada.lovelace@example.com"),
    ],
)
def test_values_are_normalised_like_addresses(raw, expected):
    assert normalise(raw, PhoneReader("FR")) == expected


@pytest.mark.parametrize("raw", ["12", "not a number", "a@b", "06 12 34"])
def test_invalid_values_are_refused(raw):
    with pytest.raises(InvalidAddress):
        normalise(raw, PhoneReader("FR"))


# An email as a person types it, and as every path stores it.
TYPED, EMAIL = "Jean.Dupont@Example.COM ", "jean.dupont@example.com"


@pytest.fixture
def listed_email(campaign, dnc):
    """The campaign's list holds EMAIL; the campaign has a list of contacts."""
    campaign.do_not_call_lists.add(dnc)
    DoNotCallEntryFactory(dnc_list=dnc, value=EMAIL)
    return ContactListFactory(campaign=campaign)


def contact_form(contact_list, address: str) -> dict:
    return {
        "contact_list": contact_list.pk,
        "state": "waiting",
        "priority": "100",
        "time_zone": "Europe/Paris",
        "address_1": address,
        "type_1": "email",
    }


def only_address(campaign) -> tuple[str, str]:
    return ContactAddress.objects.filter(contact__campaign=campaign).values_list("value", "state")[
        0
    ]


def test_a_created_contacts_email_is_written_as_the_list_writes_it(
    client_for, supervisor, campaign, listed_email
):
    url = reverse("campaigns:contact_create", args=[campaign.pk])
    assert client_for(supervisor).post(url, contact_form(listed_email, TYPED)).status_code == 302
    assert only_address(campaign) == (EMAIL, State.BLOCKED)


def test_an_edited_contacts_email_is_written_as_the_list_writes_it(
    client_for, supervisor, campaign, listed_email
):
    person = contact(campaign, "ada@example.com")
    url = reverse("campaigns:contact_edit", args=[person.pk])
    data = {**contact_form(listed_email, TYPED), "external_id": person.external_id}
    assert client_for(supervisor).post(url, data).status_code == 302
    assert only_address(campaign) == (EMAIL, State.BLOCKED)


def test_an_imported_contacts_email_is_written_as_the_list_writes_it(
    client_for, supervisor, campaign, listed_email, django_capture_on_commit_callbacks
):
    data = f"Contact ID;Address 1\r\nJEAN;{TYPED}\r\n"
    client, target = client_for(supervisor), "campaigns.campaigncontact"
    _run(client, django_capture_on_commit_callbacks, target, data, contact_list=listed_email.pk)
    assert only_address(campaign) == (EMAIL, State.BLOCKED)


def test_a_listed_email_is_written_as_the_addresses_write_it(client_for, supervisor, campaign, dnc):
    campaign.do_not_call_lists.add(dnc)
    person = contact(campaign, EMAIL)
    url = reverse("campaigns:dnc_entry_add", args=[dnc.pk])
    assert client_for(supervisor).post(url, {"value": TYPED}).status_code == 302
    assert (values(dnc), states(person)) == ({EMAIL: None}, [State.BLOCKED])


# --- blocking -------------------------------------------------------------------------------------


def test_created_contact_is_blocked_and_its_next_address_scheduled(campaign, dnc):
    campaign.do_not_call_lists.add(dnc)
    DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER)
    person = contact(campaign, NUMBER, OTHER, "+33612345670")
    blocked = donotcall.block_matching(tenant=campaign.tenant, contact_ids=[person.pk])
    assert (blocked, states(person)) == (1, [State.BLOCKED, State.SCHEDULED, State.WAITING])


def test_attaching_a_list_blocks_its_campaigns_matches_only(campaign, dnc):
    DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER)
    person, elsewhere = (
        contact(campaign, NUMBER),
        contact(CampaignFactory(tenant=campaign.tenant), NUMBER),
    )
    assert donotcall.block_matching(tenant=campaign.tenant, campaign=campaign) == 0
    campaign.do_not_call_lists.add(dnc)
    assert donotcall.refresh_blocks(tenant=campaign.tenant, campaign=campaign) == (1, 0)
    assert (states(person), states(elsewhere)) == ([State.BLOCKED], [State.SCHEDULED])


def test_detaching_releases_to_waiting_or_failed_when_attempts_are_used(campaign, dnc):
    campaign.do_not_call_lists.add(dnc)
    DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER)
    fresh, tried = contact(campaign, NUMBER), contact(campaign, NUMBER, attempts=3)
    donotcall.refresh_blocks(tenant=campaign.tenant, campaign=campaign)
    campaign.do_not_call_lists.remove(dnc)
    assert donotcall.refresh_blocks(tenant=campaign.tenant, campaign=campaign) == (0, 2)
    # The released address is the contact's only one: it is Scheduled again.
    assert (states(fresh), states(tried)) == ([State.SCHEDULED], [State.FAILED])


def test_expired_entries_do_not_block_and_their_blocks_are_released(campaign, dnc):
    campaign.do_not_call_lists.add(dnc)
    entry = DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER, expires_on=PAST)
    person = contact(campaign, NUMBER)
    assert donotcall.block_matching(tenant=campaign.tenant, campaign=campaign) == 0
    DoNotCallEntry.objects.filter(pk=entry.pk).update(expires_on=None)
    donotcall.refresh_blocks(tenant=campaign.tenant)
    assert states(person) == [State.BLOCKED]
    DoNotCallEntry.objects.filter(pk=entry.pk).update(expires_on=PAST)
    assert donotcall.refresh_blocks(tenant=campaign.tenant) == (0, 1)


def test_entry_changes_update_the_attached_campaigns(campaign, dnc):
    campaign.do_not_call_lists.add(dnc)
    person = contact(campaign, NUMBER, OTHER)
    entry, created = donotcall.dnc_entry_add(dnc_list=dnc, value=NUMBER, expires_on=None)
    assert created and states(person) == [State.BLOCKED, State.SCHEDULED]
    donotcall.dnc_entry_delete(entry=entry)
    assert states(person) == [State.WAITING, State.SCHEDULED]


def test_another_tenants_entries_never_block(campaign, dnc, tenant_b):
    campaign.do_not_call_lists.add(dnc)
    DoNotCallEntryFactory(dnc_list=DoNotCallListFactory(tenant=tenant_b), value=NUMBER)
    person = contact(campaign, NUMBER)
    assert donotcall.refresh_blocks(tenant=campaign.tenant) == (0, 0)
    assert states(person) == [State.SCHEDULED]


# --- expiry ----------------------------------------------------------------------------------------

TODAY = datetime.date(2025, 6, 10)
YESTERDAY = TODAY - datetime.timedelta(days=1)


def blocked(campaign, *values: str, attempts: int = 0):
    """A contact whose addresses (`values`) are all Blocked."""
    person = contact(campaign, *values, attempts=attempts)
    person.addresses.update(state=State.BLOCKED)
    return person


def on(monkeypatch, day: datetime.date) -> None:
    """The clock at noon of `day` in the project's time zone."""
    noon = datetime.datetime.combine(day, datetime.time(12), timezone.get_default_timezone())
    monkeypatch.setattr(timezone, "now", lambda: noon)


def test_refresh_expired_releases_what_only_expired_entries_block(campaign, dnc):
    campaign.do_not_call_lists.add(dnc)
    fresh, spent, kept = (
        blocked(campaign, NUMBER),
        blocked(campaign, OTHER, attempts=3),
        blocked(campaign, THIRD),
    )
    for value in (NUMBER, OTHER, THIRD):
        DoNotCallEntryFactory(dnc_list=dnc, value=value, expires_on=YESTERDAY)
    live = DoNotCallListFactory(tenant=campaign.tenant)
    campaign.do_not_call_lists.add(live)
    DoNotCallEntryFactory(dnc_list=live, value=THIRD)
    assert donotcall.refresh_expired(tenant=campaign.tenant, today=TODAY) == 2
    assert [states(p) for p in (fresh, spent, kept)] == [
        [State.SCHEDULED],
        [State.FAILED],
        [State.BLOCKED],
    ]


def test_refresh_expired_keeps_an_entry_on_its_expiry_day(campaign, dnc):
    campaign.do_not_call_lists.add(dnc)
    person = blocked(campaign, NUMBER)
    DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER, expires_on=TODAY)
    assert donotcall.refresh_expired(tenant=campaign.tenant, today=TODAY) == 0
    assert donotcall.refresh_expired(tenant=campaign.tenant, today=TODAY + ONE_DAY) == 1
    assert states(person) == [State.SCHEDULED]


def test_refresh_expired_since_reads_only_the_entries_expired_since(campaign, dnc):
    campaign.do_not_call_lists.add(dnc)
    older, newer = blocked(campaign, NUMBER), blocked(campaign, OTHER)
    DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER, expires_on=YESTERDAY - ONE_DAY)
    DoNotCallEntryFactory(dnc_list=dnc, value=OTHER, expires_on=YESTERDAY)
    assert donotcall.refresh_expired(tenant=campaign.tenant, today=TODAY, since=YESTERDAY) == 1
    assert (states(older), states(newer)) == ([State.BLOCKED], [State.SCHEDULED])


def test_refresh_expired_if_due_runs_once_a_day(
    campaign, dnc, monkeypatch, django_capture_on_commit_callbacks
):
    campaign.do_not_call_lists.add(dnc)
    first, second = blocked(campaign, NUMBER), blocked(campaign, OTHER)
    DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER, expires_on=YESTERDAY)
    DoNotCallEntryFactory(dnc_list=dnc, value=OTHER, expires_on=TODAY)
    for day, released in [(TODAY, 1), (TODAY, None), (TODAY + ONE_DAY, 1)]:
        on(monkeypatch, day)
        with django_capture_on_commit_callbacks(execute=True):
            assert donotcall.refresh_expired_if_due(tenant=campaign.tenant) == released
    assert (states(first), states(second)) == ([State.SCHEDULED], [State.SCHEDULED])


def test_the_contacts_page_lifts_expired_blocks(client_for, supervisor, outsider, campaign, dnc):
    campaign.do_not_call_lists.add(dnc)
    person = blocked(campaign, NUMBER)
    DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER, expires_on=PAST)
    url = reverse("campaigns:contacts", args=[campaign.pk])
    assert client_for(outsider).get(url).status_code == 404
    assert states(person) == [State.BLOCKED]
    assert client_for(supervisor).get(url).status_code == 200
    assert states(person) == [State.SCHEDULED]


def test_refresh_command_recomputes_every_block_of_the_tenant(campaign, dnc, tenant_b):
    campaign.do_not_call_lists.add(dnc)
    # Written as the admin writes them: no refresh.
    DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER)
    DoNotCallEntryFactory(dnc_list=dnc, value=OTHER, expires_on=PAST)
    listed, expired = contact(campaign, NUMBER), blocked(campaign, OTHER)
    theirs = CampaignFactory(tenant=tenant_b)
    theirs.do_not_call_lists.add(foreign := DoNotCallListFactory(tenant=tenant_b))
    DoNotCallEntryFactory(dnc_list=foreign, value=NUMBER)
    elsewhere = contact(theirs, NUMBER)
    out = io.StringIO()
    call_command("refresh_donotcall", "--tenant", campaign.tenant.slug, stdout=out)
    assert out.getvalue() == f"{campaign.tenant.slug}: 1 blocked, 1 unblocked.\n"
    assert [states(p) for p in (listed, expired, elsewhere)] == [
        [State.BLOCKED],
        [State.SCHEDULED],
        [State.SCHEDULED],
    ]


def test_refresh_command_refuses_an_unknown_tenant(db):
    with pytest.raises(CommandError):
        call_command("refresh_donotcall", "--tenant", "nobody")


# --- importing entries (Bloctel) ------------------------------------------------------------------


@pytest.fixture
def imported(client_for, supervisor, dnc, django_capture_on_commit_callbacks):
    def run(data, name: str = "bloctel.csv", **params) -> Job:
        return _run(
            client_for(supervisor),
            django_capture_on_commit_callbacks,
            ENTRIES,
            data,
            name,
            dnc_list=dnc.pk,
            **params,
        )

    return run


def values(dnc) -> dict[str, datetime.date | None]:
    return dict(dnc.entries.values_list("value", "expires_on"))


def test_bloctel_file_without_header_is_read_from_its_first_line(imported, dnc):
    job = imported("0612345678\r\n33612345679\r\nnot a number\r\n")
    assert (job.status, job.total, job.created) == (Job.Status.PARTIAL, 3, 2)
    assert job.options["table"]["has_header"] is False
    assert values(dnc) == {NUMBER: None, OTHER: None}
    assert rejections(job) == [(3, "Value: “not a number” is not a valid phone number or email")]


@pytest.mark.parametrize("header", ["numero", "NUMERO", "Numéro", "Value"])
def test_bloctel_file_with_a_header_is_read_too(imported, dnc, header):
    job = imported(f"{header}\r\n0612345678\r\n")
    assert (job.status, job.created, list(values(dnc))) == (Job.Status.SUCCEEDED, 1, [NUMBER])


def test_headerless_xlsx_of_numbers_stored_as_numbers(imported, dnc):
    job = imported(xlsx_bytes([612345678], [612345679]), "bloctel.xlsx")
    assert (job.created, set(values(dnc))) == (2, {NUMBER, OTHER})


def test_single_column_with_an_unknown_name_is_refused_at_upload(client_for, supervisor, dnc):
    response = post_import(
        client_for(supervisor), ENTRIES, "tel\r\n0612345678\r\n", dnc_list=dnc.pk
    )
    assert response.status_code == 400 and not Job.objects.exists()
    assert "The file has no “Value” column" in response.context["form"].errors["file"][0]


def test_import_sets_expiries_updates_known_values_and_rejects_repeats(imported, dnc):
    DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER, expires_on=PAST)
    job = imported(
        "Value;Expires on\r\n06 12 34 56 78;\r\n0612345679;31/12/2030\r\n+33612345679;\r\n",
        expires_on="2030-01-31",
    )
    assert (job.created, job.updated, job.rejected) == (1, 1, 1)
    assert values(dnc) == {NUMBER: datetime.date(2030, 1, 31), OTHER: datetime.date(2030, 12, 31)}
    assert rejections(job) == [(4, "Value: “+33612345679” appears earlier in the file")]


def test_import_blocks_the_attached_campaigns_and_its_undo_releases(
    imported, dnc, campaign, client_for, supervisor
):
    campaign.do_not_call_lists.add(dnc)
    person = contact(campaign, NUMBER, OTHER)
    job = imported("0612345678\r\n")
    assert states(person) == [State.BLOCKED, State.SCHEDULED]
    client_for(supervisor).post(reverse("job_undo", args=[job.pk]))
    assert not dnc.entries.exists()
    assert states(person) == [State.WAITING, State.SCHEDULED]


def test_import_into_another_tenants_list_is_refused(client_for, supervisor, tenant_b):
    foreign = DoNotCallListFactory(tenant=tenant_b)
    response = post_import(client_for(supervisor), ENTRIES, "0612345678\r\n", dnc_list=foreign.pk)
    assert response.status_code == 400
    assert "dnc_list" in response.context["options_form"].errors
    assert not Job.objects.exists()


# --- pages -----------------------------------------------------------------------------------------


def test_list_page_shows_the_tenants_lists_with_their_counts(client_for, supervisor, dnc, campaign):
    DoNotCallEntryFactory.create_batch(3, dnc_list=dnc)
    campaign.do_not_call_lists.add(dnc)
    DoNotCallListFactory(name="Foreign")
    response = client_for(supervisor).get(reverse("campaigns:dnc_list"))
    (shown,) = response.context["lists"]
    assert (shown, shown.entry_count, shown.campaign_count) == (dnc, 3, 1)


def test_create_and_rename_a_list(client_for, supervisor):
    client = client_for(supervisor)
    response = client.post(
        reverse("campaigns:dnc_create"), {"name": " Bloctel ", "description": ""}
    )
    created = DoNotCallList.objects.get(tenant=supervisor.tenant)
    assert (response.url, created.name) == (
        reverse("campaigns:dnc_detail", args=[created.pk]),
        "Bloctel",
    )
    client.post(reverse("campaigns:dnc_edit", args=[created.pk]), {"name": "Opposition"})
    created.refresh_from_db()
    assert created.name == "Opposition"


def test_list_names_are_unique_in_the_tenant_whatever_their_case(client_for, supervisor, dnc):
    response = client_for(supervisor).post(reverse("campaigns:dnc_create"), {"name": "BLOCTEL"})
    assert response.status_code == 400 and DoNotCallList.objects.count() == 1


def test_delete_asks_first_then_deletes_and_releases(client_for, supervisor, dnc, campaign):
    campaign.do_not_call_lists.add(dnc)
    DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER)
    person = contact(campaign, NUMBER)
    donotcall.refresh_blocks(tenant=campaign.tenant, campaign=campaign)
    url = reverse("campaigns:dnc_delete", args=[dnc.pk])
    assert "1 entry is deleted" in client_for(supervisor).get(url).content.decode()
    assert DoNotCallList.objects.filter(pk=dnc.pk).exists()
    client_for(supervisor).post(url)
    assert not DoNotCallList.objects.filter(pk=dnc.pk).exists() and states(person) == [
        State.SCHEDULED
    ]


def test_detail_searches_by_number_as_written_and_pages(client_for, supervisor, dnc):
    for i in range(55):
        DoNotCallEntryFactory(dnc_list=dnc, value=f"+33610000{i:03d}")
    DoNotCallEntryFactory(dnc_list=dnc, value="ada@example.com")
    client = client_for(supervisor)
    url = reverse("campaigns:dnc_detail", args=[dnc.pk])
    first = client.get(url)
    assert (len(first.context["page"].rows), first.context["total"]) == (50, 56)
    assert (
        len(client.get(url, {"after": first.context["page"].next_cursor}).context["page"].rows) == 6
    )
    found = client.get(url, {"q": "06 10 00 00 03"}).context["page"].rows
    assert [e.value for e in found] == ["+33610000003"]
    assert [e.value for e in client.get(url, {"q": "ADA@"}).context["page"].rows] == [
        "ada@example.com"
    ]


def test_add_entry_normalises_the_value(client_for, supervisor, dnc):
    url = reverse("campaigns:dnc_entry_add", args=[dnc.pk])
    response = client_for(supervisor).post(
        url, {"value": "06 12 34 56 78", "expires_on": "2030-01-01"}
    )
    assert response.url == reverse("campaigns:dnc_detail", args=[dnc.pk])
    assert values(dnc) == {NUMBER: datetime.date(2030, 1, 1)}


def test_add_entry_refuses_an_invalid_value(client_for, supervisor, dnc):
    url = reverse("campaigns:dnc_entry_add", args=[dnc.pk])
    response = client_for(supervisor).post(url, {"value": "12"})
    assert response.status_code == 400 and not dnc.entries.exists()
    assert (
        "“12” is not a valid phone number or email" in response.context["form"].errors["value"][0]
    )


def test_delete_entry(client_for, supervisor, dnc):
    entry = DoNotCallEntryFactory(dnc_list=dnc)
    response = client_for(supervisor).post(reverse("campaigns:dnc_entry_delete", args=[entry.pk]))
    assert response.status_code == 302 and not dnc.entries.exists()


@pytest.mark.parametrize("name", ["dnc_entry_add", "dnc_entry_delete"])
def test_entry_mutations_refuse_get(client_for, supervisor, dnc, name):
    entry = DoNotCallEntryFactory(dnc_list=dnc)
    pk = dnc.pk if name == "dnc_entry_add" else entry.pk
    response = client_for(supervisor).get(reverse(f"campaigns:{name}", args=[pk]), {"value": OTHER})
    assert response.status_code == 405 and list(values(dnc)) == [entry.value]


MUTATIONS = [
    ("dnc_edit", lambda dnc: dnc.pk, {"name": "Renamed"}),
    ("dnc_delete", lambda dnc: dnc.pk, {}),
    ("dnc_entry_add", lambda dnc: dnc.pk, {"value": OTHER}),
    ("dnc_entry_delete", lambda dnc: dnc.entries.get().pk, {}),
]


@pytest.mark.parametrize(("name", "pk", "data"), MUTATIONS)
@pytest.mark.parametrize(("user", "status"), [("outsider", 404), ("agent", 403)])
def test_mutations_by_outsider_or_agent_change_nothing(
    request, client_for, dnc, name, pk, data, user, status
):
    DoNotCallEntryFactory(dnc_list=dnc, value=NUMBER)
    client = client_for(request.getfixturevalue(user))
    response = client.post(reverse(f"campaigns:{name}", args=[pk(dnc)]), data)
    dnc.refresh_from_db()
    assert (response.status_code, dnc.name, list(values(dnc))) == (status, "Bloctel", [NUMBER])


@pytest.mark.parametrize("name", ["dnc_list", "dnc_create"])
def test_agent_may_not_see_or_create_lists(client_for, agent, name):
    assert client_for(agent).get(reverse(f"campaigns:{name}")).status_code == 403


# --- the addresses' value index (PostgreSQL) -----------------------------------------------------


def _many_addresses(campaign, count: int) -> None:
    """`count` contacts of the campaign with an address each, then fresh planner statistics."""
    contact_list = ContactListFactory(campaign=campaign)
    people = CampaignContact.objects.bulk_create(
        CampaignContact(
            tenant=campaign.tenant,
            campaign=campaign,
            contact_list=contact_list,
            external_id=f"M{n:06d}",
        )
        for n in range(count)
    )
    ContactAddress.objects.bulk_create(
        ContactAddress(tenant=campaign.tenant, contact=person, value=f"+3361{n:07d}")
        for n, person in enumerate(people)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ContactAddress._meta.db_table}")
        cursor.execute(f"ANALYZE {CampaignContact._meta.db_table}")


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's hash index")
def test_the_addresses_value_index_is_a_hash_index(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'campaigns_address_value'"
        )
        assert "USING hash (value)" in cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_a_new_entry_finds_the_addresses_it_blocks_through_the_value_index(campaign, dnc):
    campaign.do_not_call_lists.add(dnc)
    _many_addresses(campaign, 3000)
    person = contact(campaign, NUMBER)
    # The UPDATEs of the addresses that have the value (release, block, schedule the next).
    updates: list[tuple[str, object]] = []

    def record(execute, sql, params, many, context):
        if sql.startswith(f'UPDATE "{ContactAddress._meta.db_table}"') and [NUMBER] in params:
            updates.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        donotcall.dnc_entry_add(dnc_list=dnc, value=NUMBER, expires_on=None)
    assert states(person) == [State.BLOCKED]
    assert len(updates) == 3
    assert all("campaigns_address_value" in _plan(sql, params) for sql, params in updates)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
def test_the_page_finds_a_number_through_the_value_index(campaign):
    _many_addresses(campaign, 3000)
    person = contact(campaign, NUMBER)
    contacts = CampaignContact.objects.for_tenant(campaign.tenant).filter(campaign=campaign)
    found = CampaignContactFilter(
        {"mode": CONTACT_MANAGEMENT, "address": "06 12 34 56 78"},
        queryset=contacts,
        campaign=campaign,
    ).matches
    assert list(found) == [person]
    assert "campaigns_address_value" in found.explain()
