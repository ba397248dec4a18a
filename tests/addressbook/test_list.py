"""The contact list: keyword and column filters, sorting, keyset pages, the count, the buttons."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from addressbook.models import ExternalContact
from tests.addressbook.helpers import contact, listed_ids
from tests.factories import ExternalContactFactory, UserFactory

pytestmark = pytest.mark.usefixtures("english")

LIST = reverse("addressbook:contact_list")
COUNT = reverse("addressbook:contact_count")
SORTABLE = ["name", "phone", "mobile", "address", "email", "other"]


def names(response) -> list[str]:
    by_id = dict(ExternalContact.objects.values_list("pk", "name"))
    return [by_id[pk] for pk in listed_ids(response)]


def pager_link(response, rel: str) -> str | None:
    """The query string of the pager's Next or Previous link, None when it is disabled."""
    found = re.search(rf'rel="{rel}" href="\?([^"#]+)"', response.content.decode())
    return html.unescape(found.group(1)) if found else None


def walk(client, query: str, rel: str = "next") -> tuple[list[list[int]], object]:
    """Follow the pager's `rel` links from `query` to the end: every page's ids, the last page."""
    pages = []
    while query is not None:
        response = client.get(f"{LIST}?{query}")
        assert response.status_code == 200
        pages.append(listed_ids(response))
        query = pager_link(response, rel)
    return pages, response


@pytest.fixture
def people(supervisor, outsider):
    """Tenant A's contacts, each findable by one column only; tenant B has look-alikes."""
    tenant = supervisor.tenant
    contact(tenant, "Ada Lovelace", "01 23 45 67 89", other="ligne fixe du bureau")
    contact(tenant, "Bob Martin", mobile="06 12 34 56 78", address="12 rue Lepic, Paris")
    contact(tenant, "Chloé Durand", email="chloe@durand.example", other="FIXE le matin")
    contact(tenant, "Dan Brown", other="portable seulement")
    contact(outsider.tenant, "Ada Fixe", "01 23 45 67 89", other="fixe")


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("fixe", ["Ada Lovelace", "Chloé Durand"]),
        ("lovelace", ["Ada Lovelace"]),
        ("LEPIC", ["Bob Martin"]),
        ("durand.example", ["Chloé Durand"]),
        ("portable", ["Dan Brown"]),
        ("martin paris", ["Bob Martin"]),
        ("martin fixe", []),
    ],
)
def test_keyword_matches_every_word_in_any_column(client_for, supervisor, people, q, expected):
    response = client_for(supervisor).get(LIST, {"q": q})
    assert names(response) == expected


@pytest.mark.parametrize(
    "typed", ["01 23 45 67 89", "0123456789", "+33 1 23 45 67 89", "+33123456789", "01.23.45.67.89"]
)
def test_keyword_finds_a_number_however_it_is_written(client_for, supervisor, people, typed):
    assert names(client_for(supervisor).get(LIST, {"q": typed})) == ["Ada Lovelace"]


@pytest.mark.parametrize("typed", ["06 12 34 56 78", "+33612345678", "0033 6 12 34 56 78"])
def test_number_filter_searches_phone_and_mobile(client_for, supervisor, people, typed):
    assert names(client_for(supervisor).get(LIST, {"phone": typed})) == ["Bob Martin"]


def test_number_filter_matches_part_of_a_number(client_for, supervisor, people):
    assert names(client_for(supervisor).get(LIST, {"phone": "67 89"})) == ["Ada Lovelace"]


def test_email_filter_and_keyword_combine(client_for, supervisor, people):
    client = client_for(supervisor)
    assert names(client.get(LIST, {"email": "DURAND"})) == ["Chloé Durand"]
    assert names(client.get(LIST, {"email": "durand", "q": "portable"})) == []


def test_list_shows_only_the_users_tenant(client_for, outsider, people):
    assert names(client_for(outsider).get(LIST)) == ["Ada Fixe"]


# --- sorting and keyset pages ------------------------------------------------------------------


def values_for(column: str, i: int) -> str:
    """Values with ties (i % 7) and blanks, ordered alike by every database collation."""
    if column == "name":
        return f"contact {i % 7:02d} {i:03d}"
    if i % 5 == 0:
        return ""
    return {
        "phone": f"01234567{i % 7:02d}",
        "mobile": f"06123456{i % 7:02d}",
        "address": f"{i % 7:02d} rue lepic",
        "email": f"x{i % 7:02d}@example.org",
        "other": f"note {i % 7:02d}",
    }[column]


@pytest.mark.parametrize("column", SORTABLE)
@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
def test_sorting_pages_through_every_row_once_in_column_order(
    client_for, supervisor, column, descending
):
    for i in range(60):
        ExternalContactFactory(tenant=supervisor.tenant, **{column: values_for(column, i)})
    pages, _last = walk(client_for(supervisor), f"sort={'-' if descending else ''}{column}")
    seen = [pk for page in pages for pk in page]
    assert [len(page) for page in pages] == [25, 25, 10]
    assert sorted(seen) == sorted(ExternalContact.objects.values_list("pk", flat=True))
    by_id = dict(ExternalContact.objects.values_list("pk", column))
    assert [by_id[pk] for pk in seen] == sorted(by_id.values(), reverse=descending)


def test_previous_pages_give_back_the_same_pages(client_for, supervisor):
    ExternalContactFactory.create_batch(60, tenant=supervisor.tenant)
    client = client_for(supervisor)
    forward, last = walk(client, "sort=name")
    backward, _first = walk(client, pager_link(last, "prev"), rel="prev")
    assert backward == forward[-2::-1]


def test_pages_follow_the_filter(client_for, supervisor):
    for i in range(55):
        ExternalContactFactory(tenant=supervisor.tenant, other="fixe" if i % 2 else "mobile")
    pages, _last = walk(client_for(supervisor), "q=fixe")
    seen = [pk for page in pages for pk in page]
    assert sorted(seen) == sorted(
        ExternalContact.objects.filter(other="fixe").values_list("pk", flat=True)
    )


def test_sorting_from_a_later_page_starts_at_the_first_row_of_the_filter(client_for, supervisor):
    ExternalContactFactory.create_batch(30, tenant=supervisor.tenant)
    client = client_for(supervisor)
    second = client.get(f"{LIST}?{pager_link(client.get(LIST, {'q': 'contact'}), 'next')}")
    header = re.search(r'href="\?([^"]*sort=phone[^"]*)"', second.content.decode()).group(1)
    assert html.unescape(header) == "q=contact&sort=phone"


def test_names_are_shown_escaped(client_for, supervisor):
    contact(supervisor.tenant, "<b>Bold</b>")
    text = client_for(supervisor).get(LIST).content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt;" in text
    assert "<b>Bold" not in text


def test_a_bad_cursor_gives_the_first_page(client_for, supervisor):
    ExternalContactFactory.create_batch(30, tenant=supervisor.tenant)
    client = client_for(supervisor)
    assert listed_ids(client.get(LIST, {"after": "not-a-cursor"})) == listed_ids(client.get(LIST))


# --- the count ------------------------------------------------------------------------------


def test_count_says_how_many_match_the_filter_in_the_tenant(client_for, supervisor, people):
    response = client_for(supervisor).get(COUNT, {"q": "fixe"})
    text = response.content.decode()
    assert "2 contacts match" in text
    assert 'data-total="2"' in text
    assert "Select all 2 matching contacts" in text


def test_count_of_nothing_offers_no_selection(client_for, supervisor, people):
    text = client_for(supervisor).get(COUNT, {"q": "nobody"}).content.decode()
    assert "0 contacts match" in text
    assert "data-select-all-button" not in text


def test_count_needs_the_right_to_view_contacts(client_for, tenant_a, people):
    nobody = UserFactory(tenant=tenant_a)
    assert client_for(nobody).get(COUNT).status_code == 403
    assert client_for(nobody).get(LIST).status_code == 403


# --- what each role sees ------------------------------------------------------------------------


def action_links(response, pk: int) -> dict[str, bool]:
    text = response.content.decode()
    return {
        "create": f'href="{reverse("addressbook:contact_create")}"' in text,
        "import": 'href="/import/addressbook.externalcontact/"' in text,
        "template": 'href="/import/addressbook.externalcontact/template.csv"' in text,
        "bulk export": 'name="action" value="export"' in text,
        "bulk delete": 'name="action" value="delete"' in text,
        "edit": f'href="{reverse("addressbook:contact_edit", args=[pk])}"' in text,
        "delete": f'href="{reverse("addressbook:contact_delete", args=[pk])}"' in text,
        "row export": f'type="hidden" name="selection" value="{pk}"' in text,
    }


def test_supervisor_sees_every_action(client_for, supervisor):
    ada = contact(supervisor.tenant, "Ada")
    links = action_links(client_for(supervisor).get(LIST), ada.pk)
    assert links == dict.fromkeys(links, True)


def test_agent_sees_the_contacts_but_no_action(client_for, agent):
    ada = contact(agent.tenant, "Ada")
    response = client_for(agent).get(LIST)
    assert listed_ids(response) == [ada.pk]
    links = action_links(response, ada.pk)
    assert links == dict.fromkeys(links, False)


def test_agent_gets_no_row_checkboxes(agent, client_for):
    ExternalContactFactory(tenant=agent.tenant)
    assert b"row-check" not in client_for(agent).get("/addressbook/").content


def test_agent_sees_the_match_count_without_the_select_all_offer(agent, client_for):
    ExternalContactFactory.create_batch(2, tenant=agent.tenant)
    client = client_for(agent)
    assert b'id="match-count"' in client.get("/addressbook/").content
    count = client.get("/addressbook/count/").content.decode()
    assert "2" in count and "data-select-all-button" not in count


def test_one_page_of_contacts_has_no_pager(supervisor, client_for):
    ExternalContactFactory(tenant=supervisor.tenant)
    assert b'rel="next"' not in client_for(supervisor).get("/addressbook/").content
