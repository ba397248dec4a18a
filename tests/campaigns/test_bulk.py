"""Bulk actions on a campaign's contacts: export, reset, launch, load and delete, of ticked rows or of
all that match, with their confirmations, permissions and tenant isolation."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.urls import reverse

from campaigns import services
from campaigns.imports import CONTACT_COLUMNS
from campaigns.models import CampaignContact, ContactAddress, DialerToken
from contactcenter.models import Job
from contactcenter.roles import SUPERVISOR
from tests.campaigns.factories import (
    CampaignContactFactory,
    CampaignFactory,
    ContactAddressFactory,
    ContactListFactory,
)
from tests.campaigns.uploads import CONTACTS, run_import
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("english")

HEADER = [column.name for column in CONTACT_COLUMNS]


def bulk_url(campaign) -> str:
    return reverse("campaigns:contact_bulk", args=[campaign.pk])


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def snapshot() -> dict:
    """Every contact's and address's state, to show that a refused action changed nothing."""
    return {
        "contacts": set(CampaignContact.objects.values_list("pk", "state", "in_processing")),
        "addresses": set(ContactAddress.objects.values_list("pk", "state", "attempts")),
    }


@pytest.fixture
def campaign(supervisor):
    return CampaignFactory(tenant=supervisor.tenant, name="Spring offers")


@pytest.fixture
def book(campaign, outsider):
    """Contacts of the campaign in contact management (in processing), after some calls."""
    contact_list = ContactListFactory(campaign=campaign, name="January")
    agent = UserFactory(tenant=campaign.tenant, username="jdoe")
    rows = {}
    for name, state in (("ADA", "failed"), ("BOB", "done"), ("CHLOE", "waiting")):
        rows[name] = CampaignContactFactory(
            contact_list=contact_list,
            external_id=name,
            state=state,
            next_try_at=datetime(2026, 6, 10, 8, tzinfo=UTC),
            schedule_note="moved to the next calling window",
        )
        ContactAddressFactory(contact=rows[name], position=0, state="failed", attempts=5)
        ContactAddressFactory(contact=rows[name], position=1, state="blocked", attempts=0)
        ContactAddressFactory(contact=rows[name], position=2, state="rescheduled", attempts=2)
    rows["ADA"].preferred_agent, rows["ADA"].top_priority = agent, True
    rows["ADA"].save()
    rows["DAN"] = CampaignContactFactory(
        contact_list=contact_list, external_id="DAN", in_processing=False, state="failed"
    )
    other = CampaignFactory(tenant=campaign.tenant)
    rows["OTHER"] = CampaignContactFactory(
        contact_list=ContactListFactory(campaign=other), external_id="OTHER", state="failed"
    )
    foreign = CampaignFactory(tenant=outsider.tenant)
    rows["FOREIGN"] = CampaignContactFactory(
        contact_list=ContactListFactory(campaign=foreign), external_id="FOREIGN", state="failed"
    )
    return rows


def state_of(name: str) -> str:
    return CampaignContact.objects.get(external_id=name).state


# --- export -------------------------------------------------------------------------------------


def test_export_of_ticked_rows_has_the_import_columns(client_for, supervisor, campaign, book):
    data = {"action": "export", "format": "csv", "selection": [book["ADA"].pk]}
    response = client_for(supervisor).post(bulk_url(campaign), data)
    assert response["Content-Disposition"] == 'attachment; filename="campaign-contacts.csv"'
    header, row = csv_rows(response)
    assert header == HEADER
    values = dict(zip(header, row, strict=True))
    assert (values["Contact ID"], values["Top priority"], values["Agent"]) == ("ADA", "1", "jdoe")
    assert values["Address 1"].startswith("+33") and values["Type 1"] == "mobile"
    assert values["Next try"] == "2026-06-10 08:00:00+00:00"


def test_export_of_all_matching_replays_filters_view_and_expression(
    client_for, supervisor, campaign, book
):
    query = "mode=contact&state=&expr=state+in+(%22failed%22%2C+%22done%22)&sort=-external_id"
    data = {"action": "export", "format": "csv", "select_all": "1", "filter": query}
    rows = csv_rows(client_for(supervisor).post(bulk_url(campaign), data))
    assert [row[0] for row in rows] == ["Contact ID", "ADA", "BOB"]


def test_export_as_xlsx(client_for, supervisor, campaign, book):
    data = {"action": "export", "format": "xlsx", "selection": [book["BOB"].pk]}
    response = client_for(supervisor).post(bulk_url(campaign), data)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_large_export_becomes_a_job_of_the_same_rows(
    client_for, supervisor, campaign, book, settings, django_capture_on_commit_callbacks
):
    settings.JOBS_EXPORT_INLINE_MAX_ROWS = 1
    data = {"action": "export", "format": "csv", "select_all": "1", "filter": "mode=contact"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(supervisor).post(bulk_url(campaign), data)
    job = Job.objects.get(kind=Job.Kind.EXPORT)
    assert response.url == job.get_absolute_url() and job.status == Job.Status.SUCCEEDED
    rows = list(csv.reader(io.StringIO(job.result_file.read().decode("utf-8-sig"))))
    assert [row[0] for row in rows] == ["Contact ID", "ADA", "BOB", "CHLOE"]


def test_an_export_imports_back_as_it_was(
    client_for, supervisor, campaign, book, django_capture_on_commit_callbacks
):
    data = {"action": "export", "format": "csv", "selection": [book["ADA"].pk, book["BOB"].pk]}
    client = client_for(supervisor)
    exported = b"".join(client.post(bulk_url(campaign), data).streaming_content)
    target = ContactListFactory(campaign=CampaignFactory(tenant=campaign.tenant))
    job = run_import(
        client, django_capture_on_commit_callbacks, CONTACTS, exported, contact_list=target.pk
    )
    assert (job.created, job.rejected) == (2, 0)
    again = target.contacts.get(external_id="ADA")
    original = book["ADA"]
    assert (again.next_try_at, again.top_priority, again.preferred_agent) == (
        original.next_try_at,
        True,
        original.preferred_agent,
    )
    assert list(again.addresses.values_list("value", flat=True)) == list(
        original.addresses.values_list("value", flat=True)
    )


# --- reset --------------------------------------------------------------------------------------


def reset(client, campaign, confirmed: bool = True, **data):
    data = {"action": "reset", **({"confirmed": "1"} if confirmed else {}), **data}
    return client.post(bulk_url(campaign), data)


def test_reset_asks_first_stating_the_count(client_for, supervisor, campaign, book):
    before = snapshot()
    response = reset(client_for(supervisor), campaign, False, selection=[book["ADA"].pk])
    text = response.content.decode()
    assert "Reset 1 contact?" in text and 'name="confirmed" value="1"' in text
    assert snapshot() == before


def test_reset_puts_contacts_back_to_the_start(client_for, supervisor, campaign, book):
    response = reset(client_for(supervisor), campaign, selection=[book["ADA"].pk])
    assert response.url == reverse("campaigns:contacts", args=[campaign.pk]) + "?"
    ada = CampaignContact.objects.get(external_id="ADA")
    assert (ada.state, ada.next_try_at, ada.schedule_note) == ("waiting", None, "")
    addresses = ada.addresses.order_by("position").values_list("state", "attempts")
    assert list(addresses) == [("scheduled", 0), ("blocked", 0), ("waiting", 0)]
    assert state_of("BOB") == "done"


def test_reset_fixes_addresses_without_attempts_in_the_wrong_state(
    client_for, supervisor, campaign
):
    """Addresses at 0 attempts are rewritten too when their state is not the reset's."""
    contact = CampaignContactFactory(contact_list=ContactListFactory(campaign=campaign))
    for position, state in enumerate(("blocked", "waiting", "scheduled", "waiting")):
        ContactAddressFactory(contact=contact, position=position, state=state, attempts=0)
    reset(client_for(supervisor), campaign, selection=[contact.pk])
    states = contact.addresses.order_by("position").values_list("state", "attempts")
    assert list(states) == [("blocked", 0), ("scheduled", 0), ("waiting", 0), ("waiting", 0)]


def test_reset_of_a_stopped_lists_contacts_holds_them(client_for, supervisor, campaign, book):
    book["ADA"].contact_list.state = "stopped"
    book["ADA"].contact_list.save()
    reset(client_for(supervisor), campaign, selection=[book["ADA"].pk])
    assert state_of("ADA") == "list_stopped"


def test_reset_all_matching_resets_only_what_matches(client_for, supervisor, campaign, book):
    query = "mode=contact&state=failed"
    response = reset(client_for(supervisor), campaign, select_all="1", filter=query)
    assert response.url.endswith("?" + query)
    states = dict(CampaignContact.objects.values_list("external_id", "state"))
    assert states == {
        "ADA": "waiting",
        "BOB": "done",
        "CHLOE": "waiting",
        "DAN": "failed",
        "OTHER": "failed",
        "FOREIGN": "failed",
    }


def test_reset_all_matching_a_filter_on_addresses(client_for, supervisor, campaign, book):
    """The selection is the one the page showed, though the reset changes what it matched."""
    query = "mode=contact&address_state=failed"
    reset(client_for(supervisor), campaign, select_all="1", filter=query)
    states = dict(CampaignContact.objects.values_list("external_id", "state"))
    assert [states[name] for name in ("ADA", "BOB", "CHLOE", "DAN")] == ["waiting"] * 3 + ["failed"]
    assert not ContactAddress.objects.filter(contact__campaign=campaign, state="failed").exists()


@pytest.mark.parametrize("size", [3, 30])
def test_reset_all_matching_is_set_based(
    client_for, supervisor, campaign, django_assert_max_num_queries, size
):
    """As many statements for 30 contacts as for 3: no statement per contact."""
    contact_list = ContactListFactory(campaign=campaign)
    for contact in CampaignContactFactory.create_batch(size, contact_list=contact_list):
        ContactAddressFactory(contact=contact, state="failed", attempts=5)
    client = client_for(supervisor)
    with django_assert_max_num_queries(12):
        reset(client, campaign, select_all="1", filter="mode=contact")
    assert set(CampaignContact.objects.values_list("state", flat=True)) == {"waiting"}


def test_reset_counts_every_contact_of_the_selection(campaign):
    contact_list = ContactListFactory(campaign=campaign)
    CampaignContactFactory(contact_list=contact_list)
    CampaignContactFactory(contact_list=contact_list, state="done")
    contacts = CampaignContact.objects.filter(contact_list=contact_list)
    assert services.contacts_reset(campaign=campaign, contacts=contacts) == 2
    assert set(contacts.values_list("state", flat=True)) == {"waiting"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based reset of PostgreSQL")
def test_reset_leaves_contacts_already_reset_unwritten(campaign):
    earlier = datetime(2025, 1, 1, tzinfo=UTC)
    contact_list = ContactListFactory(campaign=campaign)
    fresh = CampaignContactFactory(contact_list=contact_list, updated_at=earlier)
    tried = CampaignContactFactory(contact_list=contact_list, state="done", updated_at=earlier)
    services.contacts_reset(campaign=campaign, contacts=CampaignContact.objects.all())
    fresh.refresh_from_db()
    tried.refresh_from_db()
    assert fresh.updated_at == earlier and tried.updated_at > earlier


def test_reset_of_all_matching_a_bad_expression_resets_nothing(
    client_for, supervisor, campaign, book
):
    before = snapshot()
    reset(client_for(supervisor), campaign, select_all="1", filter="mode=contact&expr=state+%3D")
    assert snapshot() == before


def test_agent_may_not_reset(client_for, agent, campaign, book):
    before = snapshot()
    assert reset(client_for(agent), campaign, selection=[book["ADA"].pk]).status_code == 403
    assert snapshot() == before


def test_reset_needs_its_own_permission(client_for, supervisor, campaign, book):
    Group.objects.get(name=SUPERVISOR).permissions.remove(
        Permission.objects.get(codename="reset_campaigncontact")
    )
    assert reset(client_for(supervisor), campaign, selection=[book["ADA"].pk]).status_code == 403
    assert state_of("ADA") == "failed"


# --- launch -------------------------------------------------------------------------------------


def launch(client, campaign, confirmed: bool = True, **data):
    data = {"action": "launch", **({"confirmed": "1"} if confirmed else {}), **data}
    return client.post(bulk_url(campaign), data)


def test_launch_asks_first_stating_the_count_of_list_management(
    client_for, supervisor, campaign, book
):
    response = launch(client_for(supervisor), campaign, False, select_all="1", filter="")
    text = response.content.decode()
    assert "Launch 1 contact?" in text and "where the dialer calls them" in text
    assert not CampaignContact.objects.get(external_id="DAN").in_processing


def test_launch_moves_contacts_into_contact_management(client_for, supervisor, campaign, book):
    data = {"action": "launch", "confirmed": "1", "selection": [book["ADA"].pk, book["DAN"].pk]}
    response = client_for(supervisor).post(bulk_url(campaign), data, follow=True)
    assert CampaignContact.objects.get(external_id="DAN").in_processing
    assert "1 contact launched: the dialer can call it now." in response.content.decode()


def test_agent_may_not_launch(client_for, agent, campaign, book):
    assert launch(client_for(agent), campaign, selection=[book["DAN"].pk]).status_code == 403
    assert not CampaignContact.objects.get(external_id="DAN").in_processing


def test_launch_needs_its_own_permission(client_for, supervisor, campaign, book):
    Group.objects.get(name=SUPERVISOR).permissions.remove(
        Permission.objects.get(codename="launch_campaigncontact")
    )
    assert launch(client_for(supervisor), campaign, selection=[book["DAN"].pk]).status_code == 403
    assert not CampaignContact.objects.get(external_id="DAN").in_processing


def test_each_view_offers_the_move_into_the_other(client_for, supervisor, campaign, book):
    url = reverse("campaigns:contacts", args=[campaign.pk])
    listed = client_for(supervisor).get(url).content.decode()
    processing = client_for(supervisor).get(url + "?mode=contact").content.decode()
    assert 'value="launch"' in listed and 'value="load"' not in listed
    assert 'value="load"' in processing and 'value="launch"' not in processing


def test_an_imported_contact_is_dialled_once_launched(
    client_for, supervisor, campaign, django_capture_on_commit_callbacks
):
    target = ContactListFactory(campaign=campaign, name="February")
    client = client_for(supervisor)
    run_import(
        client,
        django_capture_on_commit_callbacks,
        CONTACTS,
        "Contact ID;Address 1\r\nNEW;06 12 34 56 78\r\n",
        contact_list=target.pk,
    )
    dialer = Client(
        headers={
            "Authorization": f"Bearer {DialerToken.issue(tenant=campaign.tenant, name='D')[1]}"
        }
    )
    url = reverse("dialer_next", args=[campaign.pk])
    assert dialer.get(url).json()["contacts"] == []
    launch(client, campaign, select_all="1", filter="")
    assert [c["external_id"] for c in dialer.get(url).json()["contacts"]] == ["NEW"]


# --- load ---------------------------------------------------------------------------------------


def load(client, campaign, confirmed: bool = True, **data):
    data = {"action": "load", **({"confirmed": "1"} if confirmed else {}), **data}
    return client.post(bulk_url(campaign), data)


def test_load_asks_first_stating_the_count(client_for, supervisor, campaign, book):
    response = load(client_for(supervisor), campaign, False, select_all="1", filter="mode=contact")
    assert "Load 3 contacts into list management?" in response.content.decode()
    assert CampaignContact.objects.filter(campaign=campaign, in_processing=True).count() == 3


def test_load_moves_contacts_into_list_management(client_for, supervisor, campaign, book):
    data = {"action": "load", "confirmed": "1", "selection": [book["ADA"].pk, book["DAN"].pk]}
    response = client_for(supervisor).post(bulk_url(campaign), data, follow=True)
    moved = CampaignContact.objects.filter(campaign=campaign, in_processing=False)
    assert set(moved.values_list("external_id", flat=True)) == {"ADA", "DAN"}
    assert "1 contact loaded into list management." in response.content.decode()


def test_agent_may_not_load(client_for, agent, campaign, book):
    assert load(client_for(agent), campaign, selection=[book["ADA"].pk]).status_code == 403
    assert CampaignContact.objects.get(external_id="ADA").in_processing


# --- delete -------------------------------------------------------------------------------------


def delete(client, campaign, confirmed: bool = True, **data):
    data = {"action": "delete", **({"confirmed": "1"} if confirmed else {}), **data}
    return client.post(bulk_url(campaign), data)


def remaining() -> set[str]:
    return set(CampaignContact.objects.values_list("external_id", flat=True))


def test_delete_asks_first_and_says_it_cannot_be_undone(client_for, supervisor, campaign, book):
    response = delete(client_for(supervisor), campaign, False, selection=[book["ADA"].pk])
    text = response.content.decode()
    assert "Delete 1 contact?" in text and "This cannot be undone." in text
    assert "ADA" in remaining()


def test_delete_all_matching(client_for, supervisor, campaign, book):
    delete(client_for(supervisor), campaign, select_all="1", filter="mode=contact&state=failed")
    assert remaining() == {"BOB", "CHLOE", "DAN", "OTHER", "FOREIGN"}
    assert not ContactAddress.objects.filter(contact__external_id="ADA").exists()


def test_agent_may_not_delete(client_for, agent, campaign, book):
    assert delete(client_for(agent), campaign, selection=[book["ADA"].pk]).status_code == 403
    assert "ADA" in remaining()


# --- isolation, methods and mistakes ------------------------------------------------------------


@pytest.mark.parametrize("action", ["export", "reset", "launch", "load", "delete"])
@pytest.mark.parametrize("stranger", ["FOREIGN", "OTHER"])
def test_a_contact_outside_the_campaign_in_the_selection_is_404_and_changes_nothing(
    client_for, supervisor, campaign, book, action, stranger
):
    before = snapshot()
    data = {"action": action, "confirmed": "1", "selection": [book["ADA"].pk, book[stranger].pk]}
    assert client_for(supervisor).post(bulk_url(campaign), data).status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("action", ["export", "reset", "launch", "load", "delete"])
def test_outsider_gets_404_for_another_tenants_campaign(
    client_for, outsider, campaign, book, action
):
    before = snapshot()
    data = {"action": action, "confirmed": "1", "select_all": "1", "filter": "mode=contact"}
    assert client_for(outsider).post(bulk_url(campaign), data).status_code == 404
    assert snapshot() == before


def test_bulk_refuses_get(client_for, supervisor, campaign):
    assert client_for(supervisor).get(bulk_url(campaign)).status_code == 405


def test_bulk_without_a_known_action_says_so(client_for, supervisor, campaign, book):
    data = {"action": "archive", "selection": [book["ADA"].pk], "filter": "mode=contact"}
    response = client_for(supervisor).post(bulk_url(campaign), data, follow=True)
    assert "Choose an action." in response.content.decode()


@pytest.mark.parametrize("selection", [[], ["x"]])
def test_an_empty_or_unreadable_selection_is_404(client_for, supervisor, campaign, selection):
    data = {"action": "delete", "confirmed": "1", "selection": selection}
    assert client_for(supervisor).post(bulk_url(campaign), data).status_code == 404
