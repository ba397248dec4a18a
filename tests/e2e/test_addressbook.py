"""A supervisor keeps the address book in the browser; an agent only reads it.

Everything goes through the English UI (the EN button), as a person would click; the database
is checked after each change, so a message alone never makes a test pass.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from addressbook.models import ExternalContact
from contactcenter.models import Job
from tests.factories import ExternalContactFactory

pytestmark = pytest.mark.browser

KEYWORD = "orchid"
# One name that exists already, one number that is not one: two rejected, two created.
IMPORT_CSV = (
    b"Name,Phone,Other\n"
    b"Ada Lovelace,01 23 45 67 89,\n"
    b"Alan Turing,+44 20 7946 0958,\n"
    b"Edsger Dijkstra,12,not a phone number\n"
    b"Grace Hopper,06 12 34 56 78,\n"
)


def contacts(tenant, count: int, other: str = "") -> list[ExternalContact]:
    return ExternalContactFactory.create_batch(count, tenant=tenant, other=other)


def names_shown(page: Page) -> list[str]:
    """The "Name" column of the table, found by its header as a reader would."""
    return page.locator("#contacts-table").evaluate(
        """table => {
            const column = [...table.tHead.rows[0].cells].findIndex(
                th => th.textContent.trim() === "Name");
            return [...table.tBodies[0].querySelectorAll("tr[data-contact]")].map(
                tr => tr.cells[column].textContent.trim());
        }"""
    )


def names_in_db() -> list[str]:
    return list(ExternalContact.objects.order_by("name").values_list("name", flat=True))


def read_csv(path: Path) -> list[list[str]]:
    # utf-8-sig: both files start with a BOM so that Excel reads them as UTF-8.
    with open(path, encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def filter_by(page: Page, base_url: str, keyword: str) -> None:
    page.goto(base_url + reverse("addressbook:contact_list"))
    page.get_by_label("Search", exact=True).fill(keyword)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(rf"[?&]q={keyword}"))
    # Loaded by htmx after the page's scripts: ticking a box earlier would go unnoticed.
    expect(page.locator("#match-count")).to_contain_text("match")


def import_and_wait(page: Page, upload) -> Job:
    """Upload IMPORT_CSV, land on the job page and wait for the worker to finish it."""
    upload(IMPORT_CSV)
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.locator("#job-status .job-status")).to_have_text(
        "Partially succeeded", timeout=60_000
    )
    return Job.objects.get()


# --- 1. the "New contact" form -----------------------------------------------------------------


def open_new_contact_form(page: Page, base_url: str) -> None:
    page.goto(base_url + reverse("addressbook:contact_list"))
    page.get_by_role("link", name="New contact").click()
    expect(page.get_by_role("heading", name="New contact")).to_be_visible()


def test_supervisor_creates_a_contact(page, live_server, supervisor, log_in, tmp_path):
    log_in(supervisor)
    open_new_contact_form(page, live_server.url)
    page.get_by_role("textbox", name="Name", exact=True).fill("Ada Lovelace")
    page.get_by_role("textbox", name="Phone", exact=True).fill("01 23 45 67 89")
    page.get_by_role("button", name="Create").click()

    expect(page.get_by_role("status")).to_contain_text("Contact “Ada Lovelace” created.")
    assert names_shown(page) == ["Ada Lovelace"]
    page.screenshot(path=tmp_path / "created.png", full_page=True)
    ada = ExternalContact.objects.get()
    assert (ada.name, ada.phone, ada.phone_e164) == (
        "Ada Lovelace",
        "01 23 45 67 89",
        "+33123456789",
    )


def test_new_contact_form_shows_an_invalid_phone(page, live_server, supervisor, log_in, tmp_path):
    log_in(supervisor)
    open_new_contact_form(page, live_server.url)
    page.get_by_role("textbox", name="Name", exact=True).fill("Ada Lovelace")
    page.get_by_role("textbox", name="Phone", exact=True).fill("12")
    page.get_by_role("button", name="Create").click()

    expect(page.locator("#id_phone")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#id_phone ~ .invalid-feedback")).to_have_text(
        "“12” is not a valid phone number."
    )
    page.screenshot(path=tmp_path / "invalid-phone.png", full_page=True)
    assert not ExternalContact.objects.exists()


# --- 2. the keyword filter ---------------------------------------------------------------------


def test_keyword_filter_shows_only_matching_rows(page, live_server, supervisor, log_in, tmp_path):
    matching = contacts(supervisor.tenant, 3, other=f"Likes {KEYWORD}s")
    contacts(supervisor.tenant, 2, other="Likes tulips")
    log_in(supervisor)
    filter_by(page, live_server.url, KEYWORD)

    expect(page.locator("#match-count")).to_contain_text("3 contacts match")
    assert names_shown(page) == [contact.name for contact in matching]
    expect(page.get_by_label("Search", exact=True)).to_have_value(KEYWORD)
    page.screenshot(path=tmp_path / "filtered.png", full_page=True)


# --- 3. select all that match, export ----------------------------------------------------------


def test_export_of_all_matching_contacts_beyond_the_page(
    page, live_server, supervisor, log_in, tmp_path
):
    # More than a page (25 rows): "select all N matching" must reach the rows not shown.
    matching = contacts(supervisor.tenant, 27, other=f"Likes {KEYWORD}s")
    contacts(supervisor.tenant, 2, other="Likes tulips")
    log_in(supervisor)
    filter_by(page, live_server.url, KEYWORD)
    page.get_by_label("Select the page").check()
    expect(page.locator("[data-selected-label]")).to_have_text("25 selected")
    select_all = page.get_by_role("button", name="Select all 27 matching contacts")
    select_all.click()
    expect(page.locator("[data-selected-label]")).to_have_text(
        "All 27 matching contacts are selected"
    )
    # The offer is gone, and its " · " separator with it.
    expect(select_all).to_be_hidden()
    expect(page.locator("#match-count")).to_have_text("27 contacts match", use_inner_text=True)
    page.get_by_label("Format").select_option("CSV")
    page.screenshot(path=tmp_path / "all-selected.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export", exact=True).click()

    rows = read_csv(download.value.path())
    assert rows[0] == ["Name", "Address", "Phone", "Mobile", "Other", "Email"]
    assert rows[1:] == [[c.name, "", "", "", c.other, ""] for c in matching]
    assert download.value.suggested_filename == "external-contacts.csv"


# --- 4. delete the selection -------------------------------------------------------------------


def ask_to_delete(page: Page, base_url: str, *names: str) -> None:
    """Filter, tick the rows of these names, press Delete: the confirmation page."""
    filter_by(page, base_url, KEYWORD)
    for name in names:
        page.get_by_role("checkbox", name=name, exact=True).check()
    expect(page.locator("[data-selected-label]")).to_have_text("2 selected")
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("heading")).to_have_text("Delete 2 contacts?")


def test_supervisor_deletes_the_selection_after_confirming(
    page, live_server, supervisor, log_in, tmp_path
):
    first, second, kept = contacts(supervisor.tenant, 3, other=f"Likes {KEYWORD}s")
    log_in(supervisor)
    ask_to_delete(page, live_server.url, first.name, second.name)
    page.screenshot(path=tmp_path / "confirm-delete.png", full_page=True)
    page.get_by_role("button", name="Delete 2 contacts").click()

    expect(page.get_by_role("status")).to_contain_text("2 contacts deleted.")
    expect(page).to_have_url(re.compile(rf"[?&]q={KEYWORD}"))
    assert names_shown(page) == [kept.name]
    assert names_in_db() == [kept.name]


def test_cancelling_the_bulk_delete_keeps_the_contacts(page, live_server, supervisor, log_in):
    three = [c.name for c in contacts(supervisor.tenant, 3, other=f"Likes {KEYWORD}s")]
    log_in(supervisor)
    ask_to_delete(page, live_server.url, *three[:2])
    page.get_by_role("link", name="Cancel").click()

    expect(page).to_have_url(re.compile(rf"/addressbook/\?.*q={KEYWORD}"))
    expect(page.locator("#contacts-table tbody tr[data-contact]")).to_have_count(3)
    assert names_shown(page) == three
    assert names_in_db() == three


# --- 5, 6. import through the real worker, then undo it ----------------------------------------


def test_import_rejects_an_existing_name_and_a_bad_phone(
    page, live_server, celery_worker, supervisor, log_in, upload, tmp_path
):
    ExternalContactFactory(tenant=supervisor.tenant, name="Ada Lovelace")
    log_in(supervisor)
    job = import_and_wait(page, upload)
    expect(page.locator("[data-counter=created]")).to_have_text("2")
    expect(page.locator("[data-counter=rejected]")).to_have_text("2")
    expect(page.locator("#notification-bell [data-unread]")).to_have_attribute("data-unread", "1")
    page.screenshot(path=tmp_path / "job.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the 2 rejected rows").click()

    assert download.value.suggested_filename == f"rejected-rows-{job.pk}.csv"
    assert read_csv(download.value.path()) == [
        ["line", "Name", "Phone", "Other", "reason"],
        ["2", "Ada Lovelace", "01 23 45 67 89", "", "Name: “Ada Lovelace” already exists"],
        [
            "4",
            "Edsger Dijkstra",
            "12",
            "not a phone number",
            "Phone: “12” is not a valid phone number",
        ],
    ]
    page.locator("#notification-bell").click()
    expect(page.locator("#notifications")).to_contain_text(
        "Import of people.csv partially succeeded: 2 created, 0 updated, 2 rejected."
    )
    page.screenshot(path=tmp_path / "notifications.png", full_page=True)


def test_supervisor_undoes_an_import_after_confirming(
    page, live_server, celery_worker, supervisor, log_in, upload, tmp_path
):
    ExternalContactFactory(tenant=supervisor.tenant, name="Ada Lovelace")
    log_in(supervisor)
    import_and_wait(page, upload)
    assert names_in_db() == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    page.get_by_role("link", name="Undo this import").click()
    expect(page.get_by_role("heading")).to_have_text("Undo the import of people.csv?")
    page.screenshot(path=tmp_path / "confirm-undo.png", full_page=True)
    page.get_by_role("button", name="Remove 2 rows").click()

    expect(page.get_by_role("status")).to_contain_text("Import undone: 2 rows removed.")
    expect(page.locator("#job-status")).to_contain_text("Undone on")
    expect(page.get_by_role("link", name="Undo this import")).to_have_count(0)
    page.get_by_role("link", name="Address book", exact=True).click()
    assert names_shown(page) == ["Ada Lovelace"]
    assert names_in_db() == ["Ada Lovelace"]


# --- 7. an agent only reads --------------------------------------------------------------------


def test_agent_sees_the_list_without_any_action(page, live_server, agent, log_in, tmp_path):
    ada = ExternalContactFactory(tenant=agent.tenant, name="Ada Lovelace")
    log_in(agent)
    page.get_by_role("link", name="Address book", exact=True).click()

    expect(page.locator("#contacts-table")).to_contain_text(ada.name)
    page.screenshot(path=tmp_path / "agent.png", full_page=True)
    for role, name in [
        ("link", "New contact"),
        ("link", "Import"),
        ("button", "Export"),
        ("button", "Delete"),
        ("link", ada.name),
    ]:
        expect(page.get_by_role(role, name=name, exact=True)).to_have_count(0)
    expect(page.locator("#bulk-form, #select-page, .row-check")).to_have_count(0)
    expect(page.get_by_role("button", name=f"Actions for {ada.name}")).to_have_count(0)
