"""The dialer hand-off API (campaigns/api.py): token auth and tenant isolation, the next
contacts to dial and their claiming, and the attempts that move addresses and contacts."""

import io
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import api, services
from campaigns.models import (
    CallAttempt,
    Campaign,
    CampaignContact,
    ContactAddress,
    ContactList,
    DialerClaim,
    DialerToken,
)
from campaigns.scheduling import french_rules
from tests.campaigns.factories import (
    CampaignContactFactory,
    CampaignFactory,
    ContactAddressFactory,
    ContactListFactory,
    DoNotCallEntryFactory,
    DoNotCallListFactory,
    QualificationCodeFactory,
)

# Tuesday 10 June 2025, 11:00 in Paris: inside the French calling window.
NOW = datetime(2025, 6, 10, 11, 0, tzinfo=ZoneInfo("Europe/Paris"))
Address = ContactAddress.State
Contact = CampaignContact.State


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW.astimezone(UTC))


@pytest.fixture
def token(tenant_a) -> str:
    return DialerToken.issue(tenant=tenant_a, name="Dialer")[1]


@pytest.fixture
def dialer(token):
    """A client that speaks to the API with tenant A's token and no session, CSRF enforced."""
    return Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def campaign(tenant_a) -> Campaign:
    return CampaignFactory(tenant=tenant_a, max_attempts=3)


def contact_in(campaign, *states: str, **fields) -> CampaignContact:
    """A contact in contact management, waiting, with one address per state given."""
    contact_list = fields.pop("contact_list", None) or ContactListFactory(campaign=campaign)
    contact = CampaignContactFactory(contact_list=contact_list, **fields)
    for position, state in enumerate(states or [Address.SCHEDULED]):
        ContactAddressFactory(contact=contact, position=position, state=state)
    return contact


def next_ids(dialer, campaign, query: str = "") -> list[int]:
    response = dialer.get(reverse("dialer_next", args=[campaign.pk]) + query)
    assert response.status_code == 200, response.content
    return [contact["id"] for contact in response.json()["contacts"]]


def report(dialer, **fields):
    return dialer.post(reverse("dialer_attempts"), fields, content_type="application/json")


def running(campaign, *states: str, **fields) -> CampaignContact:
    return contact_in(campaign, *states, state=Contact.RUNNING, **fields)


# --- authentication and tenant isolation ---------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer ", "Bearer not-a-token", "Basic abc"])
def test_no_valid_token_is_401(campaign, token, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    client = Client(headers=headers)
    response = client.get(reverse("dialer_next", args=[campaign.pk]))
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["field"] == "Authorization"
    assert client.post(reverse("dialer_attempts"), {}).status_code == 401


def test_a_logged_in_session_is_no_token(campaign, supervisor, client_for):
    response = client_for(supervisor).get(reverse("dialer_next", args=[campaign.pk]))
    assert response.status_code == 401


def test_the_token_scheme_is_case_insensitive_and_its_use_is_recorded(campaign, token):
    client = Client(headers={"Authorization": f"bearer {token}"})
    assert client.get(reverse("dialer_next", args=[campaign.pk])).status_code == 200
    assert DialerToken.objects.get().last_used_at == NOW


def test_the_tokens_last_use_is_written_at_most_once_a_minute(campaign, token, monkeypatch):
    client = Client(headers={"Authorization": f"Bearer {token}"})
    url = reverse("dialer_next", args=[campaign.pk])
    for seconds in (0, 59, 60):
        monkeypatch.setattr(timezone, "now", lambda s=seconds: NOW + timedelta(seconds=s))
        assert client.get(url).status_code == 200
    assert DialerToken.objects.get().last_used_at == NOW + timedelta(seconds=60)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert not [q for q in queries if "UPDATE" in q["sql"] and "dialertoken" in q["sql"]]


def test_another_tenants_campaign_is_404_and_nothing_is_claimed(dialer, tenant_b):
    foreign = contact_in(CampaignFactory(tenant=tenant_b))
    response = dialer.get(reverse("dialer_next", args=[foreign.campaign_id]))
    assert response.status_code == 404 and response.json()["errors"][0]["field"] == "campaign"
    foreign.refresh_from_db()
    assert foreign.state == Contact.WAITING


def test_tenant_bs_token_does_not_reach_tenant_as_campaign(campaign, tenant_b):
    contact_in(campaign)
    _token, clear = DialerToken.issue(tenant=tenant_b, name="B's dialer")
    client = Client(headers={"Authorization": f"Bearer {clear}"})
    assert client.get(reverse("dialer_next", args=[campaign.pk])).status_code == 404


def test_another_tenants_contact_is_404_and_no_attempt_is_recorded(dialer, tenant_b):
    foreign = running(CampaignFactory(tenant=tenant_b))
    response = report(dialer, contact=foreign.pk, address=0)
    assert response.status_code == 404 and response.json()["errors"][0]["field"] == "contact"
    assert not CallAttempt.objects.exists()


def test_methods_are_checked(dialer, campaign):
    assert dialer.post(reverse("dialer_next", args=[campaign.pk])).status_code == 405
    assert dialer.get(reverse("dialer_attempts")).status_code == 405


# --- the next contacts to dial -------------------------------------------------------------------


def test_next_returns_the_contact_and_the_address_to_dial(dialer, campaign):
    contact = contact_in(campaign, Address.BLOCKED, Address.SCHEDULED, custom_fields={"a": 1})
    [data] = dialer.get(reverse("dialer_next", args=[campaign.pk])).json()["contacts"]
    address = contact.addresses.get(position=1)
    assert data == {
        "id": contact.pk,
        "external_id": contact.external_id,
        "priority": 100,
        "top_priority": False,
        "time_zone": "Europe/Paris",
        "custom_fields": {"a": 1},
        "address": {"value": address.value, "kind": "mobile", "position": 1},
    }


def test_next_orders_by_top_priority_priority_next_try_then_id(dialer, campaign):
    earlier, later = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    low = contact_in(campaign, priority=10)
    later_try = contact_in(campaign, next_try_at=later)
    earlier_try = contact_in(campaign, next_try_at=earlier)
    never_tried = [contact_in(campaign), contact_in(campaign)]
    top = contact_in(campaign, top_priority=True, priority=1, next_try_at=later)
    expected = [top, *never_tried, earlier_try, later_try, low]
    assert next_ids(dialer, campaign) == [contact.pk for contact in expected]


def test_a_full_chunk_of_untried_contacts_still_gives_the_tried_ones_above_them(dialer, campaign):
    due = NOW - timedelta(hours=1)
    tried = {p: contact_in(campaign, priority=p, next_try_at=due) for p in (45, 40, 20)}
    untried = {p: contact_in(campaign, priority=p) for p in (50, 40, 30)}
    expected = [untried[50], tried[45], untried[40], tried[40]]
    assert next_ids(dialer, campaign, "?limit=3") == [contact.pk for contact in expected[:3]]
    assert next_ids(dialer, campaign, "?limit=2") == [tried[40].pk, untried[30].pk]


def test_next_claims_what_it_returns_so_no_contact_is_given_twice(dialer, campaign):
    contacts = [contact_in(campaign) for _ in range(3)]
    first, second = next_ids(dialer, campaign, "?limit=2"), next_ids(dialer, campaign, "?limit=2")
    assert first == [contacts[0].pk, contacts[1].pk] and second == [contacts[2].pk]
    assert next_ids(dialer, campaign) == []
    states = set(CampaignContact.objects.values_list("state", flat=True))
    assert states == {Contact.RUNNING}


def test_next_defaults_to_a_hundred_contacts(dialer, campaign, monkeypatch):
    monkeypatch.setattr(api, "DEFAULT_LIMIT", 2)
    for _ in range(3):
        contact_in(campaign)
    assert len(next_ids(dialer, campaign)) == 2


@pytest.mark.parametrize("limit", ["0", "501", "abc", "-1", "2.5", "²", ""])
def test_next_refuses_a_bad_limit(dialer, campaign, limit):
    contact_in(campaign)
    response = dialer.get(reverse("dialer_next", args=[campaign.pk]), {"limit": limit})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "limit"
    assert not CampaignContact.objects.filter(state=Contact.RUNNING).exists()


def test_next_accepts_the_largest_limit(dialer, campaign):
    contact_in(campaign)
    assert len(next_ids(dialer, campaign, "?limit=500")) == 1


def test_next_skips_contacts_not_due_yet(dialer, campaign):
    due = contact_in(campaign, next_try_at=NOW)
    contact_in(campaign, next_try_at=NOW + timedelta(minutes=1))
    assert next_ids(dialer, campaign) == [due.pk]


@pytest.mark.parametrize("state", [s for s in Contact.values if s != Contact.WAITING])
def test_next_gives_only_waiting_contacts(dialer, campaign, state):
    contact_in(campaign, state=state)
    assert next_ids(dialer, campaign) == []


def test_next_gives_no_contact_from_list_management(dialer, campaign):
    contact_in(campaign, in_processing=False)
    assert next_ids(dialer, campaign) == []


@pytest.mark.parametrize("states", [[Address.BLOCKED], [Address.FAILED, Address.WAITING], []])
def test_next_skips_contacts_without_an_address_to_dial(dialer, campaign, states):
    contact = CampaignContactFactory(contact_list=ContactListFactory(campaign=campaign))
    for position, state in enumerate(states):
        ContactAddressFactory(contact=contact, position=position, state=state)
    assert next_ids(dialer, campaign) == []


def test_a_rescheduled_address_is_dialled_before_the_scheduled_one(dialer, campaign):
    contact_in(campaign, Address.SCHEDULED, Address.RESCHEDULED)
    response = dialer.get(reverse("dialer_next", args=[campaign.pk]))
    assert response.json()["contacts"][0]["address"]["position"] == 1


@pytest.mark.parametrize("state", [Campaign.State.PAUSED, Campaign.State.STOPPED])
def test_a_campaign_that_is_not_running_gives_none(dialer, campaign, state):
    contact = contact_in(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(state=state)
    assert next_ids(dialer, campaign) == []
    contact.refresh_from_db()
    assert contact.state == Contact.WAITING


@pytest.mark.parametrize("state", [ContactList.State.STOPPED, ContactList.State.SUSPENDED])
def test_a_list_that_is_not_active_gives_none(dialer, campaign, state):
    stopped = ContactListFactory(campaign=campaign, state=state)
    contact_in(campaign, contact_list=stopped)
    active = contact_in(campaign)
    assert next_ids(dialer, campaign) == [active.pk]


def test_a_campaign_without_an_active_list_gives_none(dialer, campaign):
    stopped = ContactListFactory(campaign=campaign, state=ContactList.State.STOPPED)
    contact = contact_in(campaign, contact_list=stopped)
    assert next_ids(dialer, campaign) == []
    contact.refresh_from_db()
    assert contact.state == Contact.WAITING


def test_another_campaigns_contacts_are_not_given(dialer, campaign, tenant_a):
    contact_in(CampaignFactory(tenant=tenant_a))
    assert next_ids(dialer, campaign) == []


# --- calling windows in the contact's own time zone ----------------------------------------------


@pytest.fixture
def french_campaign(campaign, tenant_a) -> Campaign:
    campaign.calling_rules = french_rules(tenant_a)
    campaign.save()
    return campaign


def test_only_contacts_whose_window_is_open_are_given(dialer, french_campaign, english):
    paris = contact_in(french_campaign)
    martinique = contact_in(french_campaign, top_priority=True, time_zone="America/Martinique")
    assert next_ids(dialer, french_campaign) == [paris.pk]
    martinique.refresh_from_db()
    # 05:00 in Martinique: moved to 10:00 there, and the table says why.
    assert martinique.state == Contact.WAITING
    assert martinique.next_try_at == datetime(2025, 6, 10, 14, 0, tzinfo=UTC)
    assert martinique.schedule_note.startswith("moved to the next calling window")


def test_closed_contacts_do_not_use_up_the_limit(dialer, french_campaign):
    for _ in range(3):
        contact_in(french_campaign, top_priority=True, time_zone="Pacific/Noumea")
    open_ones = [contact_in(french_campaign) for _ in range(2)]
    assert next_ids(dialer, french_campaign, "?limit=2") == [c.pk for c in open_ones]


def test_the_search_goes_past_a_chunk_of_closed_contacts(dialer, french_campaign, monkeypatch):
    monkeypatch.setattr(api, "MIN_CHUNK", 2)
    for _ in range(5):
        contact_in(french_campaign, top_priority=True, time_zone="Pacific/Noumea")
    wanted = contact_in(french_campaign)
    assert next_ids(dialer, french_campaign, "?limit=1") == [wanted.pk]
    assert CampaignContact.objects.filter(next_try_at__gt=NOW).count() == 5


def test_a_contact_at_the_attempt_cap_is_held_back(dialer, french_campaign, tenant_a, english):
    capped = contact_in(french_campaign)
    for days in (1, 2, 3, 4):
        CallAttempt.objects.create(
            tenant=tenant_a, contact=capped, attempted_at=NOW - timedelta(days=days)
        )
    assert next_ids(dialer, french_campaign) == []
    capped.refresh_from_db()
    assert capped.schedule_note.startswith("attempt cap reached: 4 in 30 days")


def test_nobody_is_called_on_a_public_holiday(dialer, french_campaign, monkeypatch):
    whit_monday = datetime(2025, 6, 9, 11, 0, tzinfo=ZoneInfo("Europe/Paris"))
    monkeypatch.setattr(timezone, "now", lambda: whit_monday.astimezone(UTC))
    contact_in(french_campaign)
    assert next_ids(dialer, french_campaign) == []


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serialises transactions; no row locks"
)
@pytest.mark.django_db(transaction=True)
def test_two_dialers_at_once_never_get_the_same_contact(tenant_a, monkeypatch):
    campaign = CampaignFactory(tenant=tenant_a)
    contacts = {contact_in(campaign).pk for _ in range(4)}
    holding, released = threading.Event(), threading.Event()
    original = api._sort_by_window

    def first_dialer_waits(*args):
        if not holding.is_set():
            holding.set()
            released.wait(10)
        return original(*args)

    monkeypatch.setattr(api, "_sort_by_window", first_dialer_waits)
    results = {}

    def claim(name):
        found = api.contacts_claim(campaign=campaign, limit=2, now=NOW)
        results[name] = {contact.pk for contact, _address in found}

    def in_a_thread():
        claim("first")
        connection.close()

    first = threading.Thread(target=in_a_thread)
    first.start()
    holding.wait(10)
    claim("second")
    released.set()
    first.join(10)
    assert results["first"] | results["second"] == contacts
    assert not results["first"] & results["second"]


# --- attempts ------------------------------------------------------------------------------------


def test_a_final_qualification_ends_the_contact(dialer, campaign):
    contact = running(campaign)
    sale = QualificationCodeFactory(campaign=campaign, code="SALE", is_final=True)
    response = report(dialer, contact=contact.pk, address=0, qualification="SALE")
    assert response.status_code == 201 and response.json()["contact"]["state"] == "done"
    contact.refresh_from_db()
    assert (contact.state, contact.qualification, contact.next_try_at) == (Contact.DONE, sale, None)
    attempt = CallAttempt.objects.get()
    assert (attempt.contact, attempt.qualification, attempt.attempted_at) == (contact, sale, NOW)


def test_a_non_final_attempt_puts_the_contact_back_to_waiting(dialer, campaign):
    contact = running(campaign)
    no_answer = QualificationCodeFactory(campaign=campaign, code="NOANSWER")
    assert (
        report(dialer, contact=contact.pk, address=0, qualification="NOANSWER").status_code == 201
    )
    contact.refresh_from_db()
    address = contact.addresses.get()
    assert (contact.state, contact.next_try_at, contact.qualification) == (
        Contact.WAITING, NOW, no_answer,
    )  # fmt: skip
    assert (address.state, address.attempts) == (Address.SCHEDULED, 1)


def test_the_address_can_be_named_by_its_value(dialer, campaign):
    contact = running(campaign, Address.SCHEDULED, Address.SCHEDULED)
    second = contact.addresses.get(position=1)
    assert report(dialer, contact=contact.pk, address=second.value).status_code == 201
    assert CallAttempt.objects.get().address == second
    second.refresh_from_db()
    assert second.attempts == 1


def test_spending_an_addresss_attempts_fails_it_and_schedules_the_next(dialer, campaign):
    contact = running(campaign, Address.SCHEDULED, Address.WAITING)
    contact.addresses.filter(position=0).update(attempts=2)
    body = report(dialer, contact=contact.pk, address=0).json()
    assert body["address"] == {"position": 0, "state": "failed", "attempts": 3}
    contact.refresh_from_db()
    assert contact.state == Contact.WAITING
    assert contact.addresses.get(position=1).state == Address.SCHEDULED


def test_the_contact_fails_when_no_address_is_left(dialer, campaign):
    contact = running(campaign, Address.SCHEDULED, Address.BLOCKED, Address.FAILED)
    contact.addresses.filter(position=0).update(attempts=2)
    assert report(dialer, contact=contact.pk, address=0).json()["contact"]["state"] == "failed"
    contact.refresh_from_db()
    assert (contact.state, contact.next_try_at) == (Contact.FAILED, None)
    assert contact.addresses.get(position=0).state == Address.FAILED


def test_a_final_qualification_wins_over_the_last_attempt(dialer, campaign):
    contact = running(campaign)
    contact.addresses.update(attempts=2)
    QualificationCodeFactory(campaign=campaign, code="SALE", is_final=True)
    report(dialer, contact=contact.pk, address=0, qualification="SALE")
    contact.refresh_from_db()
    assert contact.state == Contact.DONE


def test_a_reschedule_sets_the_next_try_and_counts(dialer, campaign):
    contact = running(campaign)
    callback = NOW + timedelta(days=1)
    report(dialer, contact=contact.pk, address=0, reschedule_at=callback.isoformat())
    contact.refresh_from_db()
    assert (contact.state, contact.next_try_at, contact.manual_reschedules) == (
        Contact.WAITING, callback, 1,
    )  # fmt: skip
    assert contact.addresses.get().state == Address.RESCHEDULED


def test_a_reschedule_outside_the_window_is_moved_into_it(dialer, french_campaign, english):
    contact = running(french_campaign)
    evening = datetime(2025, 6, 10, 21, 0, tzinfo=ZoneInfo("Europe/Paris"))
    report(dialer, contact=contact.pk, address=0, reschedule_at=evening.isoformat())
    contact.refresh_from_db()
    assert contact.next_try_at == datetime(2025, 6, 11, 8, 0, tzinfo=UTC)  # 10:00 in Paris
    assert contact.schedule_note.startswith("moved to the next calling window")


def test_a_reschedule_in_the_past_means_now(dialer, campaign):
    contact = running(campaign)
    report(dialer, contact=contact.pk, address=0, reschedule_at="2020-01-01T10:00:00Z")
    contact.refresh_from_db()
    assert contact.next_try_at == NOW


def test_the_fourth_attempt_in_thirty_days_holds_the_contact(dialer, french_campaign, tenant_a):
    contact = running(french_campaign)
    for days in (1, 2, 3):
        CallAttempt.objects.create(
            tenant=tenant_a, contact=contact, attempted_at=NOW - timedelta(days=days)
        )
    report(dialer, contact=contact.pk, address=0)
    contact.refresh_from_db()
    # The oldest of the four, on 7 June at 11:00, leaves the period on 7 July at 11:00.
    assert contact.next_try_at == datetime(2025, 7, 7, 9, 0, tzinfo=UTC)


# --- attempts: validation ------------------------------------------------------------------------


def errors_of(response) -> dict[str, str]:
    return {error["field"]: error["reason"] for error in response.json()["errors"]}


@pytest.mark.parametrize("body", ["", "not json", "[1, 2]", '"text"', "\xff"])
def test_a_body_that_is_not_a_json_object_is_400(dialer, body):
    response = dialer.post(reverse("dialer_attempts"), body, content_type="application/json")
    assert response.status_code == 400 and set(errors_of(response)) == {"body"}


@pytest.mark.parametrize(
    ("fields", "wrong"),
    [
        ({"address": 0}, {"contact"}),
        ({"contact": "12", "address": 0}, {"contact"}),
        ({"contact": True, "address": 0}, {"contact"}),
        ({"contact": 1}, {"address"}),
        ({"contact": 1, "address": ""}, {"address"}),
        ({"contact": 1, "address": 0, "qualification": 3}, {"qualification"}),
        ({"contact": 1, "address": 0, "reschedule_at": "tomorrow"}, {"reschedule_at"}),
        ({"contact": 1, "address": 0, "reschedule_at": "2025-06-11T10:00:00"}, {"reschedule_at"}),
        ({"address": [0], "reschedule_at": 5}, {"contact", "address", "reschedule_at"}),
    ],
)
def test_each_wrong_field_is_named(dialer, fields, wrong):
    response = report(dialer, **fields)
    assert response.status_code == 400 and set(errors_of(response)) == wrong
    assert not CallAttempt.objects.exists()


@pytest.mark.parametrize(
    ("address", "qualification", "wrong"),
    [
        (5, None, {"address"}),
        ("+33999999999", None, {"address"}),
        (1, None, {"address"}),  # blocked
        (0, "NOPE", {"qualification"}),
        (0, "OTHER", {"qualification"}),  # another campaign's code
    ],
)
def test_the_address_and_qualification_must_be_the_contacts(
    dialer, campaign, tenant_a, address, qualification, wrong
):
    contact = running(campaign, Address.SCHEDULED, Address.BLOCKED)
    QualificationCodeFactory(campaign=CampaignFactory(tenant=tenant_a), code="OTHER")
    response = report(dialer, contact=contact.pk, address=address, qualification=qualification)
    assert response.status_code == 400 and set(errors_of(response)) == wrong
    assert not CallAttempt.objects.exists()


def test_an_attempt_on_a_contact_not_being_dialled_is_409(dialer, campaign, english):
    contact = contact_in(campaign, state=Contact.PAUSED)
    response = report(dialer, contact=contact.pk, address=0)
    assert response.status_code == 409
    assert errors_of(response)["contact"] == "The contact is not being dialled (state: Paused)."
    contact.refresh_from_db()
    assert contact.state == Contact.PAUSED and not CallAttempt.objects.exists()


def test_next_then_attempt_round_trip(dialer, campaign):
    contact = contact_in(campaign)
    [given] = dialer.get(reverse("dialer_next", args=[campaign.pk])).json()["contacts"]
    response = report(dialer, contact=given["id"], address=given["address"]["position"])
    assert response.status_code == 201
    assert next_ids(dialer, campaign) == [contact.pk]


def test_the_issue_dialer_token_command_prints_a_working_token(campaign, tenant_a):
    out = io.StringIO()
    call_command("issue_dialer_token", "tenant-a", "Dialer 1", stdout=out)
    client = Client(headers={"Authorization": f"Bearer {out.getvalue().strip()}"})
    assert client.get(reverse("dialer_next", args=[campaign.pk])).status_code == 200
    assert DialerToken.objects.get(tenant=tenant_a).name == "Dialer 1"


def test_the_issue_dialer_token_command_refuses_an_unknown_tenant(db):
    with pytest.raises(CommandError):
        call_command("issue_dialer_token", "nobody", "Dialer")
    assert not DialerToken.objects.exists()


# --- the claim's lease ---------------------------------------------------------------------------

LEASE = timedelta(minutes=15)


def claimed(campaign, ago: timedelta, **fields) -> CampaignContact:
    """A contact a dialer claimed `ago` and never reported on."""
    contact = running(campaign, updated_at=NOW - ago, **fields)
    services.claims_record(campaign=campaign, contact_ids=[contact.pk], now=NOW - ago)
    return contact


def move_clock(monkeypatch, to: datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: to.astimezone(UTC))


def test_a_claim_past_its_lease_is_given_again_by_the_next_call(dialer, campaign):
    stuck = claimed(campaign, LEASE + timedelta(seconds=1))
    assert next_ids(dialer, campaign) == [stuck.pk]
    stuck.refresh_from_db()
    assert (stuck.state, stuck.updated_at) == (Contact.RUNNING, NOW)


def test_a_claim_within_its_lease_is_kept(dialer, campaign):
    held = claimed(campaign, LEASE)
    assert next_ids(dialer, campaign) == []
    held.refresh_from_db()
    assert held.state == Contact.RUNNING and held.updated_at == NOW - LEASE


def test_the_lease_is_a_setting(dialer, campaign, settings):
    settings.DIALER_CLAIM_LEASE_MINUTES = 5
    stuck = claimed(campaign, timedelta(minutes=6))
    assert next_ids(dialer, campaign) == [stuck.pk]


def test_a_call_releases_only_its_own_campaigns_claims(dialer, campaign, tenant_a):
    elsewhere = claimed(CampaignFactory(tenant=tenant_a), timedelta(hours=1))
    next_ids(dialer, campaign)
    elsewhere.refresh_from_db()
    assert elsewhere.state == Contact.RUNNING


def test_a_released_contact_of_a_stopped_list_is_held_by_it(campaign):
    stopped = ContactListFactory(campaign=campaign, state=ContactList.State.STOPPED)
    stuck = claimed(campaign, timedelta(hours=1), contact_list=stopped)
    assert api.claims_release_expired(campaign=campaign, now=NOW) == 1
    stuck.refresh_from_db()
    assert (stuck.state, stuck.updated_at) == (Contact.LIST_STOPPED, NOW)


def test_expired_claims_are_looked_for_at_most_once_a_minute(dialer, campaign, monkeypatch):
    next_ids(dialer, campaign)
    stuck = claimed(campaign, timedelta(hours=1))
    assert next_ids(dialer, campaign) == []
    move_clock(monkeypatch, NOW + timedelta(seconds=60))
    assert next_ids(dialer, campaign) == [stuck.pk]


def test_a_late_report_on_a_released_contact_is_recorded(dialer, campaign):
    stuck = claimed(campaign, timedelta(hours=1))
    api.claims_release_expired(campaign=campaign, now=NOW)
    QualificationCodeFactory(campaign=campaign, code="SALE", is_final=True)
    response = report(dialer, contact=stuck.pk, address=0, qualification="SALE")
    assert response.status_code == 201
    stuck.refresh_from_db()
    assert stuck.state == Contact.DONE and CallAttempt.objects.get().contact == stuck


def test_after_a_late_final_report_the_new_dialers_report_is_409(dialer, campaign):
    stuck = claimed(campaign, timedelta(hours=1))
    assert next_ids(dialer, campaign) == [stuck.pk]
    QualificationCodeFactory(campaign=campaign, code="SALE", is_final=True)
    assert report(dialer, contact=stuck.pk, address=0, qualification="SALE").status_code == 201
    assert report(dialer, contact=stuck.pk, address=0).status_code == 409
    assert CallAttempt.objects.count() == 1


def test_the_release_command_releases_every_campaigns_expired_claims(campaign, tenant_a, tenant_b):
    ours = [claimed(campaign, LEASE * 2), claimed(CampaignFactory(tenant=tenant_a), LEASE * 2)]
    fresh, theirs = claimed(campaign, LEASE), claimed(CampaignFactory(tenant=tenant_b), LEASE * 2)
    out = io.StringIO()
    call_command("release_dialer_claims", "--tenant", "tenant-a", stdout=out)
    assert out.getvalue().startswith("2 ")
    states = CampaignContact.objects.in_bulk([c.pk for c in [*ours, fresh, theirs]])
    assert [states[c.pk].state for c in ours] == [Contact.WAITING, Contact.WAITING]
    assert states[fresh.pk].state == states[theirs.pk].state == Contact.RUNNING


def test_each_call_records_what_it_claimed(dialer, campaign):
    first, second = contact_in(campaign), contact_in(campaign)
    assert sorted(next_ids(dialer, campaign)) == sorted([first.pk, second.pk])
    claim = DialerClaim.objects.get()
    assert (claim.campaign, sorted(claim.contacts)) == (campaign, sorted([first.pk, second.pk]))
    assert claim.claimed_at == NOW
    next_ids(dialer, campaign)
    assert DialerClaim.objects.count() == 1, "a call that claims nothing records nothing"


def test_the_release_leaves_contacts_reported_or_claimed_again_and_drops_old_claims(campaign):
    reported = claimed(campaign, LEASE * 2)
    reported.state = Contact.WAITING
    reported.save()
    again = claimed(campaign, LEASE * 2)
    again.updated_at = NOW - LEASE / 2
    again.save()
    services.claims_record(campaign=campaign, contact_ids=[again.pk], now=NOW - LEASE / 2)
    stuck = claimed(campaign, LEASE * 2)
    assert api.claims_release_expired(campaign=campaign, now=NOW) == 1
    states = CampaignContact.objects.in_bulk([reported.pk, again.pk, stuck.pk])
    assert [states[c.pk].state for c in (reported, again, stuck)] == [
        Contact.WAITING,
        Contact.RUNNING,
        Contact.WAITING,
    ]
    assert list(DialerClaim.objects.values_list("contacts", flat=True)) == [[again.pk]]
    assert api.claims_release_expired(campaign=campaign, now=NOW) == 0


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serialises transactions; no row locks"
)
@pytest.mark.django_db(transaction=True)
def test_a_contact_locked_during_the_release_keeps_its_claim_for_the_next_one(tenant_a):
    campaign = CampaignFactory(tenant=tenant_a)
    locked, free = claimed(campaign, LEASE * 2), claimed(campaign, LEASE * 2)
    holding, released = threading.Event(), threading.Event()

    def hold_the_row():
        with transaction.atomic():
            CampaignContact.objects.select_for_update().get(pk=locked.pk)
            holding.set()
            released.wait(10)
        connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    holding.wait(10)
    try:
        assert api.claims_release_expired(campaign=campaign, now=NOW) == 1
    finally:
        released.set()
        holder.join(10)
    assert list(DialerClaim.objects.values_list("contacts", flat=True)) == [[locked.pk]]
    assert api.claims_release_expired(campaign=campaign, now=NOW) == 1
    states = CampaignContact.objects.in_bulk([locked.pk, free.pk])
    assert states[locked.pk].state == states[free.pk].state == Contact.WAITING
    assert not DialerClaim.objects.exists()


def test_a_contact_set_running_by_hand_is_released_after_the_lease(campaign):
    from campaigns.forms import CampaignContactForm

    contact = contact_in(campaign)
    form = CampaignContactForm(
        data={
            "external_id": contact.external_id,
            "contact_list": contact.contact_list_id,
            "state": Contact.RUNNING,
            "priority": 100,
            "time_zone": "Europe/Paris",
            "address_1": "+33123456789",
            "type_1": ContactAddress.Kind.HOME,
        },
        instance=contact,
        campaign=campaign,
    )
    assert form.is_valid(), form.errors
    services.contact_save(form=form)
    assert api.claims_release_expired(campaign=campaign, now=NOW + LEASE) == 0
    later = NOW + LEASE + timedelta(seconds=1)
    assert api.claims_release_expired(campaign=campaign, now=later) == 1
    contact.refresh_from_db()
    assert contact.state == Contact.WAITING


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's heap-only updates")
def test_a_claim_writes_no_index_entry(dialer, campaign):
    """The claim rewrites each contact on its own page (a heap-only update): no column a claim
    writes is in an index or an index's condition (CampaignContact.queued)."""
    contacts = [contact_in(campaign) for _ in range(5)]
    counts = (
        "SELECT pg_stat_get_xact_tuples_updated(%s::regclass),"
        " pg_stat_get_xact_tuples_hot_updated(%s::regclass)"
    )
    table = [CampaignContact._meta.db_table] * 2
    with connection.cursor() as cursor:
        cursor.execute(counts, table)
        before = cursor.fetchone()
        with transaction.atomic():
            api._claim(campaign, [contact.pk for contact in contacts], NOW)
        cursor.execute(counts, table)
        updated, heap_only = (
            now - then for now, then in zip(cursor.fetchone(), before, strict=True)
        )
    assert (updated, heap_only) == (5, 5)
    assert CampaignContact.objects.filter(state=Contact.RUNNING, queued=True).count() == 5


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_the_heads_are_read_by_a_statement_prepared_once_with_its_generic_plan(dialer, campaign):
    contacts = [contact_in(campaign) for _ in range(4)]
    for _ in range(2):
        assert len(next_ids(dialer, campaign, "?limit=2")) == 2
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            ["%WITH untried AS MATERIALIZED%"],
        )
        assert cursor.fetchall() == [(2, 0)]
    assert CampaignContact.objects.filter(state=Contact.RUNNING).count() == len(contacts)


def test_the_release_command_refuses_an_unknown_tenant(db):
    with pytest.raises(CommandError):
        call_command("release_dialer_claims", "--tenant", "nobody")


# --- do-not-call lists at hand-off --------------------------------------------------------------

TODAY = NOW.date()


@pytest.fixture
def dnc(campaign):
    dnc = DoNotCallListFactory(tenant=campaign.tenant)
    campaign.do_not_call_lists.add(dnc)
    return dnc


def test_next_never_gives_an_address_a_live_entry_matches(dialer, campaign, dnc):
    """Even one written in the admin, which refreshes nothing: it is blocked at hand-off."""
    only, two = contact_in(campaign), contact_in(campaign, Address.SCHEDULED, Address.WAITING)
    for person in (only, two):
        DoNotCallEntryFactory(dnc_list=dnc, value=person.addresses.get(position=0).value)
    response = dialer.get(reverse("dialer_next", args=[campaign.pk])).json()
    assert [(c["id"], c["address"]["position"]) for c in response["contacts"]] == [(two.pk, 1)]
    assert only.addresses.get().state == Address.BLOCKED


@pytest.mark.parametrize(
    ("expires_on", "given"), [(TODAY, False), (TODAY - timedelta(days=1), True)]
)
def test_an_entry_blocks_through_its_expiry_day(dialer, campaign, dnc, expires_on, given):
    person = contact_in(campaign, Address.BLOCKED)
    value = person.addresses.get().value
    DoNotCallEntryFactory(dnc_list=dnc, value=value, expires_on=expires_on)
    assert next_ids(dialer, campaign) == ([person.pk] if given else [])


def test_an_expired_entry_does_not_release_what_a_live_one_blocks(dialer, campaign, dnc):
    person = contact_in(campaign, Address.BLOCKED)
    value = person.addresses.get().value
    DoNotCallEntryFactory(dnc_list=dnc, value=value, expires_on=TODAY - timedelta(days=1))
    other = DoNotCallListFactory(tenant=campaign.tenant)
    campaign.do_not_call_lists.add(other)
    DoNotCallEntryFactory(dnc_list=other, value=value)
    assert next_ids(dialer, campaign) == []
    assert person.addresses.get().state == Address.BLOCKED


def test_the_day_after_expiry_the_next_call_gives_the_address(dialer, campaign, dnc, monkeypatch):
    person = contact_in(campaign, Address.BLOCKED)
    DoNotCallEntryFactory(dnc_list=dnc, value=person.addresses.get().value, expires_on=TODAY)
    assert next_ids(dialer, campaign) == []
    move_clock(monkeypatch, NOW + timedelta(days=1))
    assert next_ids(dialer, campaign) == [person.pk]


def test_next_blocks_a_waiting_address_a_live_entry_matches(dialer, campaign, dnc):
    person = contact_in(campaign, Address.SCHEDULED, Address.WAITING)
    DoNotCallEntryFactory(dnc_list=dnc, value=person.addresses.get(position=1).value)
    response = dialer.get(reverse("dialer_next", args=[campaign.pk])).json()
    assert [(c["id"], c["address"]["position"]) for c in response["contacts"]] == [(person.pk, 0)]
    assert person.addresses.get(position=1).state == Address.BLOCKED


def test_next_checks_the_lists_without_writing_when_nothing_matches(dialer, campaign, dnc):
    DoNotCallEntryFactory(dnc_list=dnc, value="+33999999999")
    people = [contact_in(campaign) for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        assert sorted(next_ids(dialer, campaign)) == sorted(p.pk for p in people)
    blocks = [q["sql"] for q in queries if """SET "state" = 'blocked'""" in q["sql"]]
    assert blocks == []
