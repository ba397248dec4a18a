"""The CONTACTS tab: the two views, the table and its columns, filters, the advanced filter,
keyset pages, and the create, edit and delete of one contact."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse

from campaigns import scheduling
from campaigns.models import CampaignContact, ColumnChoice, ContactAddress
from campaigns.paging import serial_plans
from campaigns.tables import DEFAULT_COLUMNS
from tests.campaigns.factories import (
    CampaignContactFactory,
    CampaignFactory,
    ContactAddressFactory,
    ContactListFactory,
    DoNotCallEntryFactory,
    DoNotCallListFactory,
    QualificationCodeFactory,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("english")


def page_url(campaign, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse("campaigns:contacts", args=[campaign.pk]) + (f"?{query}" if query else "")


def listed(response) -> list[str]:
    """The Contact IDs of the rendered table, in their order on the page."""
    by_pk = dict(CampaignContact.objects.values_list("pk", "external_id"))
    return [by_pk[int(pk)] for pk in re.findall(r'data-contact="(\d+)"', response.content.decode())]


def contact(contact_list, external_id: str, *addresses: str, **fields) -> CampaignContact:
    """A contact in list management with these addresses, in this order."""
    fields.setdefault("in_processing", False)
    made = CampaignContactFactory(contact_list=contact_list, external_id=external_id, **fields)
    for position, value in enumerate(addresses):
        ContactAddressFactory(contact=made, value=value, position=position)
    return made


@pytest.fixture
def campaign(supervisor):
    return CampaignFactory(tenant=supervisor.tenant, name="Spring offers")


@pytest.fixture
def people(campaign, outsider):
    """Two lists of the campaign; contacts findable by one column each; look-alikes elsewhere."""
    january = ContactListFactory(campaign=campaign, name="January")
    february = ContactListFactory(campaign=campaign, name="February")
    sale = QualificationCodeFactory(campaign=campaign, code="SALE")
    agent = UserFactory(tenant=campaign.tenant, username="jdoe")
    contact(january, "ADA", "+33123456789", priority=200, top_priority=True)
    contact(february, "BOB", "bob@example.com", state="failed", qualification=sale)
    contact(january, "CHLOE", "+33612345678", preferred_agent=agent, time_zone="Indian/Reunion")
    contact(january, "DAN", "+33698765432", in_processing=True, priority=5)
    other = ContactListFactory(campaign=CampaignFactory(tenant=campaign.tenant))
    contact(other, "ADA-ELSEWHERE", "+33123456789")
    foreign = ContactListFactory(campaign=CampaignFactory(tenant=outsider.tenant))
    contact(foreign, "ADA-FOREIGN", "+33123456789")
    return {"january": january, "february": february, "sale": sale, "agent": agent}


# --- the two views --------------------------------------------------------------------------------


def test_list_management_is_the_default_view(client_for, supervisor, campaign, people):
    assert listed(client_for(supervisor).get(page_url(campaign))) == ["ADA", "BOB", "CHLOE"]


def test_contact_management_shows_the_contacts_in_processing(
    client_for, supervisor, campaign, people
):
    assert listed(client_for(supervisor).get(page_url(campaign, mode="contact"))) == ["DAN"]


def test_the_page_and_its_count_are_404_to_outsiders(client_for, outsider, campaign, people):
    client = client_for(outsider)
    assert client.get(page_url(campaign)).status_code == 404
    assert client.get(reverse("campaigns:contact_count", args=[campaign.pk])).status_code == 404


def test_agent_sees_the_contacts_without_checkboxes_or_actions(client_for, agent, campaign, people):
    response = client_for(agent).get(page_url(campaign))
    text = response.content.decode()
    assert listed(response) == ["ADA", "BOB", "CHLOE"]
    assert "row-check" not in text and 'id="bulk-form"' not in text
    assert reverse("campaigns:contact_create", args=[campaign.pk]) not in text


def test_count_follows_the_filters_and_the_view(client_for, supervisor, campaign, people):
    url = reverse("campaigns:contact_count", args=[campaign.pk])
    client = client_for(supervisor)
    assert "3 contacts match" in client.get(url).content.decode()
    assert "1 contact matches" in client.get(url, {"mode": "contact"}).content.decode()
    assert "Select all 3 matching contacts" in client.get(url).content.decode()


# --- columns ------------------------------------------------------------------------------------


def headers(response) -> list[str]:
    return [column.name for column in response.context["table"].columns]


def test_default_columns(client_for, supervisor, campaign, people):
    shown = headers(client_for(supervisor).get(page_url(campaign)))
    assert shown == ["selection", "external_id", *DEFAULT_COLUMNS, "actions"]


def save_columns(client, campaign, columns, query=""):
    url = reverse("campaigns:columns_save", args=[campaign.pk])
    return client.post(url, {"columns": columns, "query": query})


def test_column_choice_is_remembered_per_user_and_campaign(
    client_for, supervisor, administrator, campaign, people
):
    other = CampaignFactory(tenant=campaign.tenant)
    response = save_columns(
        client_for(supervisor), campaign, ["state", "created_at"], "mode=contact"
    )
    assert response.url == page_url(campaign, mode="contact")
    client = client_for(supervisor)
    assert headers(client.get(page_url(campaign))) == [
        "selection",
        "external_id",
        "state",
        "created_at",
        "actions",
    ]
    assert "priority" in headers(client.get(page_url(other)))
    assert "priority" in headers(client_for(administrator).get(page_url(campaign)))


def test_column_choice_ignores_unknown_columns(client_for, supervisor, campaign, people):
    response = save_columns(client_for(supervisor), campaign, ["state", "password"])
    assert response.status_code == 302 and not ColumnChoice.objects.exists()


def test_agent_may_choose_columns_for_themself(client_for, agent, campaign, people):
    save_columns(client_for(agent), campaign, ["priority"])
    assert ColumnChoice.objects.get().columns == ["priority"]


def test_choose_columns_refuses_get_and_outsiders(client_for, supervisor, outsider, campaign):
    url = reverse("campaigns:columns_save", args=[campaign.pk])
    assert client_for(supervisor).get(url).status_code == 405
    assert save_columns(client_for(outsider), campaign, ["state"]).status_code == 404
    assert not ColumnChoice.objects.exists()


# --- basic filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "ch"}, ["CHLOE"]),
        ({"q": "01 23 45 67 89"}, ["ADA"]),
        ({"q": "example.com"}, ["BOB"]),
        ({"address": "06 12 34 56 78"}, ["CHLOE"]),
        ({"state": "failed"}, ["BOB"]),
        ({"priority_min": "150"}, ["ADA"]),
        ({"priority_max": "150"}, ["BOB", "CHLOE"]),
        ({"top_priority": "true"}, ["ADA"]),
        ({"time_zone": "reunion"}, ["CHLOE"]),
        ({"address_type": "mobile"}, ["ADA", "BOB", "CHLOE"]),
        ({"address_state": "blocked"}, []),
        ({"no_next_try": "true"}, ["ADA", "BOB", "CHLOE"]),
        ({"manual_reschedules_min": "1"}, []),
    ],
)
def test_column_filters(client_for, supervisor, campaign, people, params, expected):
    assert listed(client_for(supervisor).get(page_url(campaign), params)) == expected


def test_filters_by_list_agent_and_qualification(client_for, supervisor, campaign, people):
    client = client_for(supervisor)
    assert listed(client.get(page_url(campaign), {"contact_list": people["february"].pk})) == [
        "BOB"
    ]
    assert listed(client.get(page_url(campaign), {"preferred_agent": people["agent"].pk})) == [
        "CHLOE"
    ]
    assert listed(client.get(page_url(campaign), {"qualification": people["sale"].pk})) == ["BOB"]


def test_a_filter_that_cannot_be_read_shows_nothing(client_for, supervisor, campaign, people):
    response = client_for(supervisor).get(page_url(campaign), {"priority_min": "many"})
    assert response.status_code == 200 and listed(response) == []


def test_next_try_filters_by_day(client_for, supervisor, campaign, people):
    CampaignContact.objects.filter(external_id="ADA").update(
        next_try_at=datetime(2026, 6, 10, 9, tzinfo=UTC)
    )
    client = client_for(supervisor)
    assert listed(client.get(page_url(campaign), {"next_try_from": "2026-06-10"})) == ["ADA"]
    assert listed(client.get(page_url(campaign), {"next_try_to": "2026-06-09"})) == []


# --- the advanced filter ------------------------------------------------------------------------


def test_advanced_filter_narrows_the_page_and_the_count(client_for, supervisor, campaign, people):
    client = client_for(supervisor)
    expr = 'state = "waiting" and priority >= 100'
    assert listed(client.get(page_url(campaign), {"expr": expr})) == ["ADA", "CHLOE"]
    count = client.get(reverse("campaigns:contact_count", args=[campaign.pk]), {"expr": expr})
    assert "2 contacts match" in count.content.decode()


def test_advanced_filter_panel_is_on_the_page(client_for, supervisor, campaign, people):
    text = client_for(supervisor).get(page_url(campaign)).content.decode()
    assert 'id="advanced-filter"' in text


@pytest.mark.parametrize("expr", ['state = "nope"', "priority >>= 1", 'agent = "x" or ('])
def test_a_bad_expression_says_why_and_shows_nothing(
    client_for, supervisor, campaign, people, expr
):
    response = client_for(supervisor).get(page_url(campaign), {"expr": expr})
    assert response.status_code == 200 and listed(response) == []
    assert 'id="advanced-filter-error"' in response.content.decode()
    count = client_for(supervisor).get(
        reverse("campaigns:contact_count", args=[campaign.pk]), {"expr": expr}
    )
    assert "0 contacts match" in count.content.decode()


def test_the_other_filters_keep_the_expression(client_for, supervisor, campaign, people):
    text = client_for(supervisor).get(page_url(campaign), {"expr": 'state = "failed"'})
    assert 'name="expr" value="state = &quot;failed&quot;"' in text.content.decode()


# --- sorting and keyset pages -------------------------------------------------------------------


def pager_link(response, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="\?([^"#]+)"', response.content.decode())
    return html.unescape(found.group(1)) if found else None


def walk(client, url: str, query: str, rel: str = "next") -> tuple[list[list[str]], str]:
    """Follow the pager's `rel` links from `query` to the end: every page, the last query."""
    pages = []
    while True:
        response = client.get(f"{url}?{query}")
        pages.append(listed(response))
        following = pager_link(response, rel)
        if following is None:
            return pages, query
        query = following


@pytest.fixture
def crowd(campaign):
    """60 contacts: a third without next try; next tries and priorities with ties."""
    contact_list = ContactListFactory(campaign=campaign)
    start = datetime(2026, 6, 1, 8, tzinfo=UTC)
    for i in range(60):
        when = None if i % 3 == 0 else start + timedelta(hours=i % 7)
        contact(contact_list, f"C{i:03d}", next_try_at=when, priority=i % 5)
    return CampaignContact.objects.filter(campaign=campaign)


def expected_order(contacts, column: str, descending: bool) -> list[str]:
    """By (value, id) in the sort's direction, the contacts without a value last."""
    rows = list(contacts.values_list(column, "pk", "external_id"))
    valued = sorted((r for r in rows if r[0] is not None), reverse=descending)
    blanks = sorted((r for r in rows if r[0] is None), key=lambda r: r[1], reverse=descending)
    return [r[2] for r in valued + blanks]


@pytest.mark.parametrize("column", ["next_try_at", "priority", "external_id"])
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_keyset_pages_walk_every_contact_once_in_order(
    client_for, supervisor, campaign, crowd, column, descending
):
    client, url = client_for(supervisor), page_url(campaign)
    sort = f"sort={'-' if descending else ''}{column}"
    forward, last = walk(client, url, sort)
    assert [len(page) for page in forward] == [25, 25, 10]
    assert [row for page in forward for row in page] == expected_order(crowd, column, descending)
    backward, _first = walk(client, url, last, "prev")
    assert list(reversed(backward)) == forward


def test_next_try_column_shows_why_it_moved(client_for, supervisor, campaign):
    contact_list = ContactListFactory(campaign=campaign)
    contact(
        contact_list,
        "ADA",
        next_try_at=datetime(2026, 6, 1, 8, tzinfo=UTC),
        schedule_note="moved after a public holiday (Whit Monday)",
    )
    contact(contact_list, "BOB")
    text = client_for(supervisor).get(page_url(campaign)).content.decode()
    assert 'title="moved after a public holiday (Whit Monday)"' in text
    assert "By priority" in text


# --- create, edit, delete one contact -----------------------------------------------------------


def contact_data(contact_list, **changes) -> dict:
    data = {
        "external_id": "",
        "contact_list": contact_list.pk,
        "state": "waiting",
        "next_try_date": "",
        "next_try_time": "",
        "priority": "100",
        "time_zone": "Europe/Paris",
        "address_1": "06 12 34 56 78",
        "type_1": "mobile",
        "address_2": "",
        "type_2": "default",
        "address_3": "",
        "type_3": "default",
    }
    return {**data, **changes}


@pytest.fixture
def contact_list(campaign):
    return ContactListFactory(campaign=campaign, name="January")


def create(client, campaign, data):
    return client.post(reverse("campaigns:contact_create", args=[campaign.pk]), data)


def test_create_contact_with_the_defaults(client_for, supervisor, campaign, contact_list):
    response = create(client_for(supervisor), campaign, contact_data(contact_list))
    made = CampaignContact.objects.get()
    assert response.url == campaign.get_absolute_url()
    assert (made.state, made.priority, made.next_try_at, made.in_processing) == (
        "waiting",
        100,
        None,
        False,
    )
    assert made.external_id and made.tenant == supervisor.tenant
    assert list(made.addresses.values_list("value", "kind", "state")) == [
        ("+33612345678", "mobile", "scheduled")
    ]


def test_create_form_offers_the_campaigns_time_zone_and_priority(
    client_for, supervisor, campaign, contact_list
):
    campaign.default_time_zone = "America/Martinique"
    campaign.save()
    form = client_for(supervisor).get(reverse("campaigns:contact_create", args=[campaign.pk]))
    initial = form.context["form"].initial
    assert (initial["time_zone"], form.context["form"]["priority"].value()) == (
        "America/Martinique",
        100,
    )


def test_create_contact_with_several_addresses(client_for, supervisor, campaign, contact_list):
    data = contact_data(contact_list, address_2="ada@example.com", address_3="+44 20 7946 0958")
    create(client_for(supervisor), campaign, data)
    addresses = CampaignContact.objects.get().addresses.values_list("value", "kind", "state")
    assert list(addresses) == [
        ("+33612345678", "mobile", "scheduled"),
        ("ada@example.com", "email", "waiting"),
        ("+442079460958", "default", "waiting"),
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"address_1": ""}, "address_1"),
        ({"address_1": "12"}, "address_1"),
        ({"address_1": "ada@", "type_1": "email"}, "address_1"),
        ({"address_1": "ada@example.com", "type_1": "mobile"}, "address_1"),
        ({"type_1": "email"}, "address_1"),
        ({"priority": "256"}, "priority"),
        ({"priority": "-1"}, "priority"),
        ({"priority": ""}, "priority"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"next_try_date": "2026-06-10"}, "next_try_time"),
    ],
)
def test_create_refuses_bad_values(client_for, supervisor, campaign, contact_list, changes, field):
    response = create(client_for(supervisor), campaign, contact_data(contact_list, **changes))
    assert response.status_code == 400 and response.context["form"].errors.get(field)
    assert not CampaignContact.objects.exists()


def test_create_refuses_a_contact_id_taken_in_the_campaign(
    client_for, supervisor, campaign, contact_list
):
    contact(contact_list, "ADA")
    response = create(
        client_for(supervisor), campaign, contact_data(contact_list, external_id="ADA")
    )
    assert response.status_code == 400 and CampaignContact.objects.count() == 1


def test_create_refuses_another_campaigns_list_or_tenants_agent(
    client_for, supervisor, outsider, campaign, contact_list
):
    client = client_for(supervisor)
    other_list = ContactListFactory(campaign=CampaignFactory(tenant=campaign.tenant))
    assert create(client, campaign, contact_data(other_list)).status_code == 400
    data = contact_data(contact_list, preferred_agent=outsider.pk)
    assert create(client, campaign, data).status_code == 400
    assert not CampaignContact.objects.exists()


def test_create_in_a_suspended_list_holds_the_contact(
    client_for, supervisor, campaign, contact_list
):
    contact_list.state = "suspended"
    contact_list.save()
    create(client_for(supervisor), campaign, contact_data(contact_list))
    assert CampaignContact.objects.get().state == "list_suspended"


def test_create_moves_the_next_try_into_the_calling_window_and_says_why(
    client_for, supervisor, campaign, contact_list
):
    campaign.calling_rules = scheduling.french_rules(supervisor.tenant)
    campaign.save()
    # Christmas Day 2026 is a Friday: the next allowed time is Monday 28 at 10:00 in Paris.
    data = contact_data(contact_list, next_try_date="2026-12-25", next_try_time="11:00")
    response = create(client_for(supervisor), campaign, data)
    made = CampaignContact.objects.get()
    paris = datetime(2026, 12, 28, 10, tzinfo=ZoneInfo("Europe/Paris"))
    assert made.next_try_at == paris and "Christmas" in made.schedule_note
    shown = [str(m) for m in response.wsgi_request._messages]
    assert any("Next try set to" in text and "Christmas" in text for text in shown)


def test_next_try_is_read_in_the_contacts_time_zone(client_for, supervisor, campaign, contact_list):
    data = contact_data(
        contact_list,
        next_try_date="2026-06-10",
        next_try_time="10:00",
        time_zone="America/Martinique",
    )
    create(client_for(supervisor), campaign, data)
    assert CampaignContact.objects.get().next_try_at == datetime(2026, 6, 10, 14, tzinfo=UTC)


def test_create_blocks_an_address_on_the_campaigns_do_not_call_list(
    client_for, supervisor, campaign, contact_list
):
    dnc = DoNotCallListFactory(tenant=supervisor.tenant)
    DoNotCallEntryFactory(dnc_list=dnc, value="+33612345678")
    campaign.do_not_call_lists.add(dnc)
    data = contact_data(contact_list, address_2="+33699999999")
    create(client_for(supervisor), campaign, data)
    states = CampaignContact.objects.get().addresses.values_list("value", "state")
    assert list(states) == [("+33612345678", "blocked"), ("+33699999999", "scheduled")]


def test_a_contact_created_from_contact_management_is_launched_at_once(
    client_for, supervisor, campaign, contact_list
):
    client = client_for(supervisor)
    url = reverse("campaigns:contact_create", args=[campaign.pk]) + "?mode=contact"
    assert client.get(url).context["form"]["launch"].value() is True
    response = client.post(url, contact_data(contact_list, launch="on"), follow=True)
    made = CampaignContact.objects.get()
    assert made.in_processing
    assert response.redirect_chain[-1][0] == campaign.get_absolute_url() + "?mode=contact"
    assert f"Contact “{made.external_id}” created and launched." in response.content.decode()


def test_a_contact_created_without_launch_waits_in_list_management(
    client_for, supervisor, campaign, contact_list
):
    client = client_for(supervisor)
    url = reverse("campaigns:contact_create", args=[campaign.pk]) + "?mode=contact&sort=next_try"
    response = client.post(url, contact_data(contact_list, external_id="W-1"), follow=True)
    assert not CampaignContact.objects.get().in_processing
    # Back to the view it is in, the page's other parameters kept.
    assert response.redirect_chain[-1][0] == (
        campaign.get_absolute_url() + "?mode=list&sort=next_try"
    )
    assert (
        "Contact “W-1” created in list management: launch it to have it called."
        in html.unescape(response.content.decode())
    )
    assert client.get(reverse("campaigns:contact_create", args=[campaign.pk])).context["form"][
        "launch"
    ].value() in (False, None)


def test_launch_on_create_needs_the_launch_permission(client_for, campaign, contact_list):
    clerk = UserFactory(tenant=campaign.tenant)
    clerk.user_permissions.add(Permission.objects.get(codename="add_campaigncontact"))
    client = client_for(clerk)
    url = reverse("campaigns:contact_create", args=[campaign.pk]) + "?mode=contact"
    assert "launch" not in client.get(url).context["form"].fields
    client.post(url, contact_data(contact_list, launch="on"))
    assert not CampaignContact.objects.get().in_processing


def test_editing_a_contact_does_not_move_it(client_for, supervisor, campaign, contact_list):
    contact = CampaignContactFactory(
        contact_list=contact_list, external_id="E-1", in_processing=False
    )
    client = client_for(supervisor)
    url = reverse("campaigns:contact_edit", args=[contact.pk]) + "?mode=contact"
    assert "launch" not in client.get(url).context["form"].fields
    response = client.post(url, contact_data(contact_list, external_id="E-1", launch="on"))
    assert response.status_code == 302
    contact.refresh_from_db()
    assert not contact.in_processing


def test_agent_may_not_create_contacts(client_for, agent, campaign, contact_list):
    assert create(client_for(agent), campaign, contact_data(contact_list)).status_code == 403
    assert not CampaignContact.objects.exists()


def test_create_without_a_list_sends_to_the_lists(client_for, supervisor, campaign):
    response = client_for(supervisor).get(reverse("campaigns:contact_create", args=[campaign.pk]))
    assert response.url == reverse("campaigns:lists", args=[campaign.pk])


@pytest.fixture
def ada(contact_list):
    made = contact(contact_list, "ADA", "+33123456789", "ada@example.com", priority=7)
    made.addresses.filter(position=0).update(state="failed", attempts=5)
    made.addresses.filter(position=1).update(state="waiting")
    return made


def edit(client, made, data):
    return client.post(reverse("campaigns:contact_edit", args=[made.pk]), data)


def test_edit_form_shows_the_contact(client_for, supervisor, ada):
    form = client_for(supervisor).get(reverse("campaigns:contact_edit", args=[ada.pk]))
    initial = form.context["form"].initial
    assert (initial["address_1"], initial["address_2"], initial["priority"]) == (
        "+33123456789",
        "ada@example.com",
        7,
    )


def test_edit_saves_and_restarts_a_changed_address(client_for, supervisor, contact_list, ada):
    data = contact_data(
        contact_list, external_id="ADA", priority="9", address_1="01 98 76 54 32", type_1="work"
    )
    data.update(address_2="ada@example.com", type_2="email")
    assert edit(client_for(supervisor), ada, data).status_code == 302
    ada.refresh_from_db()
    assert ada.priority == 9
    assert list(ada.addresses.values_list("value", "kind", "state", "attempts")) == [
        ("+33198765432", "work", "scheduled", 0),
        ("ada@example.com", "email", "waiting", 0),
    ]


def test_edit_removes_an_emptied_address(client_for, supervisor, contact_list, ada):
    data = contact_data(contact_list, external_id="ADA", address_1="+33123456789")
    edit(client_for(supervisor), ada, data)
    assert list(ada.addresses.values_list("value", "state")) == [("+33123456789", "failed")]


def test_agent_and_outsider_may_not_edit(client_for, agent, outsider, contact_list, ada):
    data = contact_data(contact_list, external_id="ADA", priority="1")
    assert edit(client_for(agent), ada, data).status_code == 403
    assert edit(client_for(outsider), ada, data).status_code == 404
    ada.refresh_from_db()
    assert ada.priority == 7


def test_delete_one_contact_asks_first(client_for, supervisor, ada):
    url = reverse("campaigns:contact_delete", args=[ada.pk])
    client = client_for(supervisor)
    assert "This cannot be undone" in client.get(url).content.decode()
    assert CampaignContact.objects.exists()
    assert client.post(url).url == ada.campaign.get_absolute_url()
    assert not CampaignContact.objects.exists() and not ContactAddress.objects.exists()


def test_edit_and_delete_go_back_to_the_view_and_filters_they_came_from(
    client_for, supervisor, contact_list, ada
):
    client, page = client_for(supervisor), "mode=contact&expr=priority+%3E%3D+5"
    contacts = f"{ada.campaign.get_absolute_url()}?{page}"
    data = contact_data(contact_list, external_id="ADA", address_1="+33123456789")
    edit_url = reverse("campaigns:contact_edit", args=[ada.pk])
    assert client.post(f"{edit_url}?{page}", data).url == contacts
    delete_url = reverse("campaigns:contact_delete", args=[ada.pk])
    assert f'href="{contacts.replace("&", "&amp;")}"' in client.get(f"{delete_url}?{page}").text
    assert client.post(f"{delete_url}?{page}").url == contacts
    assert not CampaignContact.objects.exists()


def test_agent_and_outsider_may_not_delete_a_contact(client_for, agent, outsider, ada):
    url = reverse("campaigns:contact_delete", args=[ada.pk])
    assert client_for(agent).post(url).status_code == 403
    assert client_for(outsider).post(url).status_code == 404
    assert CampaignContact.objects.filter(pk=ada.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL planner setting")
def test_a_page_is_planned_without_parallel_workers_then_the_setting_is_reset(db):
    def workers() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            return cursor.fetchone()[0]

    before = workers()
    with serial_plans():
        assert workers() == "0"
    assert workers() == before
