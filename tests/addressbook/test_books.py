"""Address books: their sources, the merged listing, search, tenancy and rights."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from addressbook.models import AddressBook, ExternalContact
from tests.addressbook.helpers import contact
from tests.factories import AddressBookFactory, ExternalContactFactory

pytestmark = pytest.mark.usefixtures("english")

LIST = reverse("addressbook:book_list")
CREATE = reverse("addressbook:book_create")
ALL_SOURCES = ["agents", "supervisors", "external_contacts"]
ENTRY = re.compile(
    r'<tr><td>(?:<a href="[^"]*">)?([^<]*)(?:</a>)?</td><td><span class="badge[^"]*">([^<]*)</span>'
)


def url(name: str, book: AddressBook) -> str:
    return reverse(f"addressbook:book_{name}", args=[book.pk])


def entries(response) -> list[tuple[str, str]]:
    """(name, kind) of each line of the book's page, in order."""
    return ENTRY.findall(response.content.decode())


@pytest.fixture
def everyone(supervisor, agent, outsider):
    """Tenant A's external contacts beside its cast; tenant B has a contact of its own."""
    contact(supervisor.tenant, "Bernard", "01 23 45 67 89", other="ligne fixe")
    contact(supervisor.tenant, "zoé", mobile="06 12 34 56 78")
    contact(outsider.tenant, "Oscar's contact", other="fixe")
    return AddressBookFactory(tenant=supervisor.tenant, name="Everyone", sources=ALL_SOURCES)


# --- create, edit, delete ---------------------------------------------------------------------


def test_create_saves_the_book_with_its_sources_in_the_users_tenant(client_for, supervisor):
    data = {"name": "Équipe", "sources": ["agents", "external_contacts"]}
    response = client_for(supervisor).post(CREATE, data)
    book = AddressBook.objects.get()
    assert response.url == book.get_absolute_url()
    assert (book.tenant, book.name, book.sources) == (supervisor.tenant, "Équipe", data["sources"])


def test_form_offers_every_registered_source(client_for, supervisor):
    text = client_for(supervisor).get(CREATE).content.decode()
    offered = re.findall(r'name="sources" value="([^"]+)"', text)
    assert offered == ALL_SOURCES


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "No source"}, "sources"),
        ({"name": "Everything", "sources": ["nonsense"]}, "sources"),
        ({"name": " everyone ", "sources": ["agents"]}, "name"),
        ({"name": "", "sources": ["agents"]}, "name"),
    ],
)
def test_create_refuses_a_bad_book(client_for, supervisor, everyone, data, field):
    response = client_for(supervisor).post(CREATE, data)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    assert AddressBook.objects.count() == 1


def test_edit_changes_name_and_sources(client_for, supervisor, everyone):
    data = {"name": "Supervisors only", "sources": ["supervisors"]}
    assert client_for(supervisor).post(url("edit", everyone), data).status_code == 302
    everyone.refresh_from_db()
    assert (everyone.name, everyone.sources) == ("Supervisors only", ["supervisors"])


def test_delete_asks_then_deletes_the_book_but_keeps_its_contacts(client_for, supervisor, everyone):
    client = client_for(supervisor)
    assert (
        "Delete the address book “Everyone”?"
        in client.get(url("delete", everyone)).content.decode()
    )
    assert AddressBook.objects.exists()
    assert client.post(url("delete", everyone)).url == LIST
    assert not AddressBook.objects.exists()
    assert ExternalContact.objects.for_tenant(supervisor.tenant).count() == 2


# --- the merged listing ---------------------------------------------------------------------------


def test_book_merges_its_sources_sorted_by_name(client_for, agent, everyone):
    assert entries(client_for(agent).get(everyone.get_absolute_url())) == [
        ("andy-agent", "Agent"),
        ("Bernard", "External contact"),
        ("sam-supervisor", "Supervisor"),
        ("zoé", "External contact"),
    ]


@pytest.mark.parametrize(
    ("sources", "listed"),
    [
        (["supervisors"], ["sam-supervisor"]),
        (["agents", "supervisors"], ["andy-agent", "sam-supervisor"]),
        (["external_contacts"], ["Bernard", "zoé"]),
    ],
)
def test_book_lists_only_its_sources(client_for, supervisor, everyone, sources, listed):
    book = AddressBookFactory(tenant=supervisor.tenant, sources=sources)
    assert [
        name for name, _kind in entries(client_for(supervisor).get(book.get_absolute_url()))
    ] == listed


@pytest.mark.parametrize(
    ("q", "listed"),
    [
        ("fixe", ["Bernard"]),
        ("ANDY", ["andy-agent"]),
        ("+33612345678", ["zoé"]),
        ("01 23 45", ["Bernard"]),
        ("nobody", []),
    ],
)
def test_book_search_narrows_every_source(client_for, supervisor, everyone, q, listed):
    response = client_for(supervisor).get(everyone.get_absolute_url(), {"q": q})
    assert [name for name, _kind in entries(response)] == listed


def test_a_long_book_shows_its_first_hundred_entries_and_says_so(client_for, supervisor):
    book = AddressBookFactory(tenant=supervisor.tenant, sources=["external_contacts"])
    ExternalContactFactory.create_batch(101, tenant=supervisor.tenant)
    response = client_for(supervisor).get(book.get_absolute_url())
    assert len(entries(response)) == 100
    assert "Only the first 100 entries are shown" in response.content.decode()


def test_new_contacts_appear_in_every_book_that_uses_external_contacts(
    client_for, supervisor, everyone, upload
):
    other = AddressBookFactory(tenant=supervisor.tenant, sources=["external_contacts"])
    people = AddressBookFactory(tenant=supervisor.tenant, sources=["agents", "supervisors"])
    client_for(supervisor).post(reverse("addressbook:contact_create"), {"name": "Created"})
    upload(supervisor, "Name\r\nImported\r\n")
    for book, expected in ((everyone, True), (other, True), (people, False)):
        listed = [
            name for name, _kind in entries(client_for(supervisor).get(book.get_absolute_url()))
        ]
        assert ({"Created", "Imported"} <= set(listed)) is expected, book.sources


# --- tenancy and rights ---------------------------------------------------------------------------


def test_book_list_shows_the_tenants_books_only(client_for, supervisor, outsider, everyone):
    AddressBookFactory(tenant=outsider.tenant, name="Theirs")
    text = client_for(supervisor).get(LIST).content.decode()
    assert "Everyone" in text
    assert "Theirs" not in text


@pytest.mark.parametrize(
    ("view", "method"),
    [("detail", "get"), ("edit", "get"), ("edit", "post"), ("delete", "get"), ("delete", "post")],
)
def test_outsider_gets_404_on_every_book_url(client_for, outsider, everyone, view, method):
    data = {"name": "Mine", "sources": ["agents"]} if method == "post" else {}
    response = getattr(client_for(outsider), method)(url(view, everyone), data)
    assert response.status_code == 404
    everyone.refresh_from_db()
    assert (everyone.name, everyone.sources) == ("Everyone", ALL_SOURCES)


def test_agent_may_read_books_but_not_change_them(client_for, agent, everyone):
    client = client_for(agent)
    assert (
        client.get(LIST).status_code == client.get(everyone.get_absolute_url()).status_code == 200
    )
    data = {"name": "Mine", "sources": ["agents"]}
    assert client.post(CREATE, data).status_code == 403
    assert client.post(url("edit", everyone), data).status_code == 403
    assert client.post(url("delete", everyone)).status_code == 403
    everyone.refresh_from_db()
    assert (AddressBook.objects.count(), everyone.name) == (1, "Everyone")


def test_agent_sees_no_button_to_change_books(client_for, agent, supervisor, everyone):
    links = [CREATE, url("edit", everyone), url("delete", everyone)]
    pages = [LIST, everyone.get_absolute_url()]
    agent_html = "".join(client_for(agent).get(page).content.decode() for page in pages)
    supervisor_html = "".join(client_for(supervisor).get(page).content.decode() for page in pages)
    assert [link in agent_html for link in links] == [False, False, False]
    assert [link in supervisor_html for link in links] == [True, True, True]


def test_accents_do_not_push_names_to_the_end():
    from contactcenter.registry import DirectoryEntry

    names = ["Zoé", "Émile", "Elsa", "fabien"]
    assert sorted(names, key=lambda n: DirectoryEntry(name=n, kind="x").sort_key) == [
        "Elsa",
        "Émile",
        "fabien",
        "Zoé",
    ]
