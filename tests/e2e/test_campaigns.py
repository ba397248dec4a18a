"""A supervisor works a campaign's contacts in the browser; an agent only reads them.

Everything goes through the English UI (the EN button), as a person would click; the database
is checked after each change, so a message alone never makes a test pass.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from campaigns.models import CampaignContact, ColumnChoice, ContactAddress, SavedFilter
from tests.campaigns.factories import (
    CampaignContactFactory,
    CampaignFactory,
    ContactAddressFactory,
    ContactListFactory,
)

pytestmark = pytest.mark.browser

Address = ContactAddress.State
# Three clauses; `and` binds tighter than `or`: the keen Parisians, and B-2 whatever it is.
KEEN = 'state = "waiting" and priority >= 150 and timezone = "Europe/Paris" or id = "B-2"'
# "priority" misspelt: the 23rd character starts the bad token.
MISSPELT = 'state = "waiting" and priorty >= 150'


@pytest.fixture
def campaign(supervisor):
    return CampaignFactory(tenant=supervisor.tenant, name="Spring offers")


@pytest.fixture
def prospects(campaign):
    return ContactListFactory(campaign=campaign, name="Prospects")


def contact(contact_list, external_id: str, *, in_processing=False, **fields) -> CampaignContact:
    """A contact with one scheduled mobile number; in list management unless told."""
    made = CampaignContactFactory(
        contact_list=contact_list, external_id=external_id, in_processing=in_processing, **fields
    )
    ContactAddressFactory(contact=made)
    return made


def ids_shown(page: Page) -> Locator:
    """The Contact ID cells of the table, top to bottom."""
    return page.locator("#contacts-table tbody td[id^='contact-']")


def open_contacts(page: Page, base_url: str, campaign) -> None:
    page.goto(base_url + reverse("campaigns:contacts", args=[campaign.pk]))
    expect(page.get_by_role("heading", level=1)).to_contain_text(campaign.name)
    # Loaded by htmx after the page's scripts: ticking a box earlier would go unnoticed.
    expect(page.locator("#match-count")).to_contain_text("match")


def switch_view(page: Page, name: str) -> None:
    views = page.get_by_role("list", name="View")
    views.get_by_role("link", name=name).click()
    # Only the new page marks it: the old one's rows are gone by then.
    expect(views.locator("[aria-current=page]")).to_have_text(name)


def apply_filter(page: Page, expression: str) -> None:
    page.get_by_label("Filter expression").fill(expression)
    page.locator("#advanced-filter-form").get_by_role("button", name="Apply").click()
    # The old page shows the typed filter too: wait for the one that applies it.
    expect(page).to_have_url(re.compile(re.escape(urlencode({"expr": expression})) + "(&|$)"))
    expect(page.locator("#match-count")).to_contain_text("match")


def column(page: Page, name: str) -> Locator:
    return page.get_by_role("columnheader", name=name, exact=True)


# --- 1, 2. open a campaign, switch views -------------------------------------------------------


def test_supervisor_opens_a_campaign_on_its_contacts_tab(
    page, live_server, supervisor, campaign, log_in, tmp_path
):
    log_in(supervisor)
    page.get_by_role("button", name="Outbound").click()
    page.get_by_role("link", name="Campaigns", exact=True).click()
    expect(page.get_by_role("heading", name="Outbound campaigns")).to_be_visible()
    page.get_by_role("link", name="Spring offers").click()

    expect(page).to_have_url(live_server.url + reverse("campaigns:contacts", args=[campaign.pk]))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Spring offers")
    expect(page.locator(".nav-tabs [aria-current=page]")).to_have_text("Contacts")
    page.screenshot(path=tmp_path / "contacts-tab.png", full_page=True)


def test_each_view_shows_its_own_contacts(page, live_server, supervisor, prospects, log_in):
    for name in ("L-1", "L-2"):
        contact(prospects, name)
    contact(prospects, "C-1", in_processing=True)
    log_in(supervisor)
    open_contacts(page, live_server.url, prospects.campaign)
    expect(page.get_by_role("link", name="List management")).to_have_attribute(
        "aria-current", "page"
    )
    expect(ids_shown(page)).to_have_text(["L-1", "L-2"])

    switch_view(page, "Contact management")
    expect(page).to_have_url(re.compile(r"[?&]mode=contact"))
    expect(ids_shown(page)).to_have_text(["C-1"])
    switch_view(page, "List management")
    expect(ids_shown(page)).to_have_text(["L-1", "L-2"])


# --- 3. the column chooser ---------------------------------------------------------------------


def choose_columns(page: Page, *, hide: list[str], show: list[str]) -> None:
    page.get_by_role("button", name="Choose the columns").click()
    chooser = page.get_by_role("group", name="Columns shown")
    for name in hide:
        chooser.get_by_label(name, exact=True).uncheck()
    for name in show:
        chooser.get_by_label(name, exact=True).check()
    page.locator("#columns-form").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Columns saved.")


def test_chosen_columns_are_remembered_for_this_user_and_campaign(
    page, live_server, supervisor, prospects, log_in, tmp_path
):
    contact(prospects, "L-1")
    other = CampaignFactory(tenant=supervisor.tenant, name="Autumn offers")
    log_in(supervisor)
    open_contacts(page, live_server.url, prospects.campaign)
    expect(column(page, "Created on")).to_have_count(0)
    choose_columns(page, hide=["Priority", "Time zone"], show=["Created on"])

    page.reload()
    expect(column(page, "Created on")).to_be_visible()
    for name in ("Priority", "Time zone"):
        expect(column(page, name)).to_have_count(0)
    expect(column(page, "State")).to_be_visible()
    page.screenshot(path=tmp_path / "columns.png", full_page=True)
    chosen = ColumnChoice.objects.get()
    assert (chosen.user, chosen.campaign) == (supervisor, prospects.campaign)
    assert "priority" not in chosen.columns and "created_at" in chosen.columns

    open_contacts(page, live_server.url, other)
    expect(column(page, "Priority")).to_be_visible()
    expect(column(page, "Created on")).to_have_count(0)


def test_a_colleague_keeps_the_default_columns(
    page, live_server, supervisor, administrator, prospects, log_in
):
    contact(prospects, "L-1")
    log_in(supervisor)
    open_contacts(page, live_server.url, prospects.campaign)
    choose_columns(page, hide=["Priority"], show=[])

    page.context.clear_cookies()
    log_in(administrator)
    open_contacts(page, live_server.url, prospects.campaign)
    expect(column(page, "Priority")).to_be_visible()
    assert list(ColumnChoice.objects.values_list("user", flat=True)) == [supervisor.pk]


# --- 4. the advanced filter --------------------------------------------------------------------


@pytest.fixture
def mixed(prospects):
    """Five contacts, of which KEEN matches B-1, B-2 and B-4."""
    contact(prospects, "B-1", priority=200)
    contact(prospects, "B-2", priority=50)
    contact(prospects, "B-3", priority=200, state=CampaignContact.State.FAILED)
    contact(prospects, "B-4", priority=150)
    contact(prospects, "B-5", priority=220, time_zone="America/Martinique")
    return prospects.campaign


def test_advanced_filter_of_several_clauses_shows_the_matching_rows(
    page, live_server, supervisor, mixed, log_in, tmp_path
):
    log_in(supervisor)
    open_contacts(page, live_server.url, mixed)
    expect(ids_shown(page)).to_have_count(5)
    apply_filter(page, KEEN)

    expect(ids_shown(page)).to_have_text(["B-1", "B-2", "B-4"])
    expect(page.locator("#match-count")).to_contain_text("3 contacts match")
    expect(page.get_by_label("Filter expression")).not_to_have_attribute("aria-invalid", "true")
    page.screenshot(path=tmp_path / "advanced-filter.png", full_page=True)


def test_a_bad_filter_points_at_the_bad_token(
    page, live_server, supervisor, mixed, log_in, tmp_path
):
    log_in(supervisor)
    open_contacts(page, live_server.url, mixed)
    apply_filter(page, MISSPELT)

    expect(page.locator("#advanced-filter-error")).to_have_text(
        "Unknown variable “priorty” at column 23 — did you mean “priority”?"
    )
    expect(page.locator("#advanced-filter-form mark")).to_have_text("priorty")
    expect(page.get_by_label("Filter expression")).to_have_attribute("aria-invalid", "true")
    # A filter that cannot be read matches nothing, never everything.
    expect(page.locator("#match-count")).to_contain_text("0 contacts match")
    expect(ids_shown(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Save this filter")).to_have_count(0)
    page.screenshot(path=tmp_path / "bad-filter.png", full_page=True)


def test_supervisor_saves_a_filter_and_picks_it_again(
    page, live_server, supervisor, mixed, log_in, tmp_path
):
    log_in(supervisor)
    open_contacts(page, live_server.url, mixed)
    apply_filter(page, KEEN)
    page.get_by_role("textbox", name="Name of the filter").fill("Keen Parisians")
    page.get_by_role("button", name="Save this filter").click()
    expect(page.get_by_role("status")).to_contain_text("Filter “Keen Parisians” saved.")
    saved = SavedFilter.objects.get()
    assert (saved.user, saved.campaign, saved.name, saved.expression) == (
        supervisor,
        mixed,
        "Keen Parisians",
        KEEN,
    )

    open_contacts(page, live_server.url, mixed)
    expect(ids_shown(page)).to_have_count(5)
    page.get_by_role("link", name="Keen Parisians").click()
    expect(page.get_by_label("Filter expression")).to_have_value(KEEN)
    expect(ids_shown(page)).to_have_text(["B-1", "B-2", "B-4"])
    page.screenshot(path=tmp_path / "saved-filter.png", full_page=True)


# --- 5. select all that match, reset -----------------------------------------------------------


@pytest.fixture
def failed(prospects):
    """27 failed contacts in processing (more than a page), each with a failed number tried
    3 times and a waiting one tried once; and two done contacts that the filter leaves out."""
    for n in range(1, 28):
        made = CampaignContactFactory(
            contact_list=prospects, external_id=f"F-{n:02d}", state=CampaignContact.State.FAILED
        )
        ContactAddressFactory(contact=made, position=0, state=Address.FAILED, attempts=3)
        ContactAddressFactory(contact=made, position=1, state=Address.WAITING, attempts=1)
    for name in ("D-1", "D-2"):
        contact(prospects, name, in_processing=True, state=CampaignContact.State.DONE)
    return prospects.campaign


def select_all_matching(page: Page, count: int) -> None:
    """Tick the page, then take the offer to select every match, beyond the page too."""
    page.get_by_label("Select the page").check()
    expect(page.locator("[data-selected-label]")).to_have_text("25 selected")
    page.get_by_role("button", name=f"Select all {count} matching contacts").click()
    expect(page.locator("[data-selected-label]")).to_have_text(
        f"All {count} matching contacts are selected"
    )


def test_supervisor_resets_all_matching_contacts_after_confirming(
    page, live_server, supervisor, failed, log_in, tmp_path
):
    log_in(supervisor)
    open_contacts(page, live_server.url, failed)
    switch_view(page, "Contact management")
    apply_filter(page, 'state = "failed"')
    select_all_matching(page, 27)
    page.locator("#bulk-form").get_by_role("button", name="Reset", exact=True).click()
    expect(page.get_by_role("heading", name="Reset 27 contacts?")).to_be_visible()
    page.screenshot(path=tmp_path / "confirm-reset.png", full_page=True)
    page.get_by_role("button", name="Reset 27 contacts").click()

    expect(page.get_by_role("status")).to_contain_text("27 contacts reset.")
    # Nothing is failed any more: the filter, kept, now matches nothing.
    expect(page.get_by_label("Filter expression")).to_have_value('state = "failed"')
    expect(ids_shown(page)).to_have_count(0)
    assert_reset(failed)


def assert_reset(campaign) -> None:
    """The 27 are Waiting with no next try, their first number Scheduled, the other Waiting,
    none tried; the done ones are untouched."""
    states = dict(campaign.contacts.values_list("external_id", "state"))
    assert states == {
        **{f"F-{n:02d}": "waiting" for n in range(1, 28)},
        "D-1": "done",
        "D-2": "done",
    }
    assert not campaign.contacts.filter(next_try_at__isnull=False).exists()
    addresses = ContactAddress.objects.filter(contact__external_id__startswith="F-")
    assert sorted(set(addresses.values_list("position", "state", "attempts"))) == [
        (0, Address.SCHEDULED, 0),
        (1, Address.WAITING, 0),
    ]
    assert addresses.count() == 54


# --- 6. create a contact -----------------------------------------------------------------------


def test_supervisor_creates_a_contact(page, live_server, supervisor, prospects, log_in, tmp_path):
    log_in(supervisor)
    open_contacts(page, live_server.url, prospects.campaign)
    switch_view(page, "Contact management")
    page.get_by_role("link", name="New contact").click()
    expect(page.get_by_role("heading", name="New contact")).to_be_visible()
    # From contact management, the new contact is launched unless the box is unticked.
    expect(page.get_by_role("checkbox", name="Launch now")).to_be_checked()
    page.get_by_role("textbox", name="Contact ID", exact=True).fill("ACME-7")
    page.get_by_role("spinbutton", name="Priority").fill("180")
    page.get_by_role("textbox", name="Address 1", exact=True).fill("06 12 34 56 78")
    page.get_by_label("Address 1: type").select_option(label="Mobile")
    page.screenshot(path=tmp_path / "new-contact.png", full_page=True)
    page.get_by_role("button", name="Create").click()

    expect(page.get_by_role("status")).to_contain_text("Contact “ACME-7” created and launched.")
    views = page.get_by_role("list", name="View")
    expect(views.locator("[aria-current=page]")).to_have_text("Contact management")
    expect(ids_shown(page)).to_have_text(["ACME-7"])
    made = CampaignContact.objects.get()
    assert (made.external_id, made.contact_list, made.state, made.priority) == (
        "ACME-7",
        prospects,
        CampaignContact.State.WAITING,
        180,
    )
    assert made.in_processing
    assert list(made.addresses.values_list("value", "kind", "state")) == [
        ("+33612345678", ContactAddress.Kind.MOBILE, Address.SCHEDULED)
    ]


# --- 7. delete one contact ---------------------------------------------------------------------


def test_supervisor_deletes_one_contact_after_confirming(
    page, live_server, supervisor, prospects, log_in, tmp_path
):
    gone, kept = (contact(prospects, name, in_processing=True) for name in ("K-1", "K-2"))
    log_in(supervisor)
    open_contacts(page, live_server.url, prospects.campaign)
    switch_view(page, "Contact management")
    page.get_by_role("button", name="Actions for K-1").click()
    page.get_by_role("link", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", name="Delete the contact “K-1”?")).to_be_visible()
    expect(page.get_by_text("This cannot be undone.")).to_be_visible()
    page.screenshot(path=tmp_path / "confirm-delete.png", full_page=True)
    page.get_by_role("button", name="Delete", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("Contact “K-1” deleted.")
    # Back on the view it was deleted from, not on the other one.
    expect(page).to_have_url(re.compile(r"[?&]mode=contact"))
    expect(ids_shown(page)).to_have_text(["K-2"])
    assert list(CampaignContact.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not ContactAddress.objects.filter(contact_id=gone.pk).exists()


# --- launch: list management → contact management, where the dialer calls -----------------------


def test_supervisor_launches_a_waiting_contact_into_contact_management(
    page, live_server, supervisor, prospects, log_in, tmp_path
):
    contact(prospects, "L-1")
    contact(prospects, "L-2")
    log_in(supervisor)
    open_contacts(page, live_server.url, prospects.campaign)
    expect(ids_shown(page)).to_have_text(["L-1", "L-2"])
    page.get_by_role("checkbox", name="L-1", exact=True).check()
    page.locator("#bulk-form").get_by_role("button", name="Launch", exact=True).click()
    expect(page.get_by_role("heading", name="Launch 1 contact?")).to_be_visible()
    page.screenshot(path=tmp_path / "confirm-launch.png", full_page=True)
    page.get_by_role("button", name="Launch 1 contact").click()

    expect(page.get_by_role("status")).to_contain_text("1 contact launched")
    expect(ids_shown(page)).to_have_text(["L-2"])
    switch_view(page, "Contact management")
    expect(ids_shown(page)).to_have_text(["L-1"])
    # Contact management offers the way back, not this one.
    bulk = page.locator("#bulk-form")
    expect(bulk.get_by_role("button", name="Launch", exact=True)).to_have_count(0)
    expect(bulk.get_by_role("button", name="Load", exact=True)).to_have_count(1)


# --- 8. an agent only reads --------------------------------------------------------------------


def test_agent_sees_the_contacts_without_reset_or_delete(
    page, live_server, agent, prospects, log_in, tmp_path
):
    contact(prospects, "L-1")
    log_in(agent)
    page.get_by_role("link", name="Outbound", exact=True).click()
    page.get_by_role("link", name="Spring offers").click()

    expect(ids_shown(page)).to_have_text(["L-1"])
    page.screenshot(path=tmp_path / "agent.png", full_page=True)
    for role, name in [
        ("button", "Reset"),
        ("button", "Launch"),
        ("button", "Delete"),
        ("link", "New contact"),
    ]:
        expect(page.get_by_role(role, name=name, exact=True)).to_have_count(0)
    expect(page.locator("#bulk-form, #select-page, .row-check")).to_have_count(0)
    expect(page.get_by_role("button", name="Actions for L-1")).to_have_count(0)
