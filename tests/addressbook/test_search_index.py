"""The search rows: written with a contact saved alone, after the import for imported ones,
and searched either way (addressbook/search.py, addressbook/tasks.py)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from addressbook import tasks
from addressbook.models import ContactSearch, ExternalContact, SearchBacklog
from contactcenter import registry, services
from contactcenter.jobs.importing import run_import
from tests.addressbook.helpers import contact, listed_ids
from tests.addressbook.test_list import walk

pytestmark = pytest.mark.usefixtures("english")

LIST = reverse("addressbook:contact_list")
BULK = reverse("addressbook:contact_bulk")
FILE = (
    "Name,Address,Phone,Other\r\n"
    "Ada Lovelace,12 rue Lepic Paris,01 23 45 67 89,ligne fixe\r\n"
    "Bob Martin,3 quai Perrache Lyon,,portable\r\n"
    "Chloé Durand,,+33 6 12 34 56 78,\r\n"
)


def imported(user, data: str = FILE):
    job = services.job_start_import(
        user=user,
        target="addressbook.externalcontact",
        upload=SimpleUploadedFile("people.csv", data.encode()),
    )
    run_import(str(job.pk))
    job.refresh_from_db()
    return job


@pytest.fixture
def indexing_later(monkeypatch):
    """The worker has not got round to the search rows yet: the task is queued, not run."""
    queued = []
    monkeypatch.setattr(tasks.index_contacts, "delay", queued.append)
    return queued


def found(client, query: str) -> set[str]:
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    by_id = dict(ExternalContact.objects.values_list("pk", "name"))
    return {by_id[pk] for pk in listed_ids(response)}


SEARCHES = [
    ("q=fixe", {"Ada Lovelace"}),
    ("q=lyon+quai", {"Bob Martin"}),
    ("q=%2B33612345678", {"Chloé Durand"}),
    ("q=06+12+34+56+78", {"Chloé Durand"}),
    ("phone=0123456789", {"Ada Lovelace"}),
    ("phone=67+89", {"Ada Lovelace"}),
    ("q=nobody", set()),
]


def test_an_import_leaves_search_rows_for_every_contact_it_created(supervisor):
    job = imported(supervisor)
    assert job.created == 3
    created = set(ExternalContact.objects.filter(import_job=job).values_list("pk", flat=True))
    assert set(ContactSearch.objects.values_list("contact_id", flat=True)) == created
    assert not SearchBacklog.objects.exists()
    ada = ContactSearch.objects.get(contact_id=ExternalContact.objects.get(name="Ada Lovelace").pk)
    assert (ada.tenant, ada.phone_e164) == (supervisor.tenant, "+33123456789")
    assert ada.text == "ada lovelace 12 rue lepic paris 01 23 45 67 89 +33123456789   ligne fixe "
    assert ada.name_key == "ada lovelace"


@pytest.mark.parametrize(("query", "expected"), SEARCHES)
def test_imported_contacts_are_found_before_and_after_their_search_rows(
    client_for, supervisor, indexing_later, query, expected
):
    client = client_for(supervisor)
    imported(supervisor)
    assert indexing_later == [supervisor.tenant.pk]
    assert not ContactSearch.objects.exists()
    page = client.get(LIST).content.decode()
    assert "still being added to the search index" in page
    assert found(client, query) == expected
    assert tasks.index_contacts(supervisor.tenant.pk) == 1
    assert ContactSearch.objects.count() == 3
    assert "still being added" not in client.get(LIST).content.decode()
    assert found(client, query) == expected


def test_a_saved_contact_is_searched_by_what_it_says_now(client_for, supervisor):
    client = client_for(supervisor)
    ada = contact(supervisor.tenant, "Ada Lovelace", other="ligne fixe")
    assert found(client, "q=fixe") == {"Ada Lovelace"}
    edit = reverse("addressbook:contact_edit", args=[ada.pk])
    client.post(edit, {"name": "Ada Lovelace", "other": "portable"})
    assert found(client, "q=fixe") == set()
    assert found(client, "q=portable") == {"Ada Lovelace"}


def test_a_renamed_contact_takes_its_place_among_the_matches(client_for, supervisor):
    client = client_for(supervisor)
    ada = contact(supervisor.tenant, "Ada", other="fixe")
    contact(supervisor.tenant, "Bob", other="fixe")
    edit = reverse("addressbook:contact_edit", args=[ada.pk])
    client.post(edit, {"name": "  Zoé ", "other": "fixe"})
    assert ContactSearch.objects.get(contact_id=ada.pk).name_key == "zoé"
    by_id = dict(ExternalContact.objects.values_list("pk", "name"))
    shown = [by_id[pk] for pk in listed_ids(client.get(f"{LIST}?q=fixe"))]
    assert shown == ["Bob", "Zoé"]


@pytest.mark.parametrize("indexed", [True, False])
def test_matches_page_by_name_whether_indexed_or_not(
    client_for, supervisor, outsider, indexing_later, indexed
):
    rows = "".join(f"Name {i:02d},,,{'fixe' if i % 3 else 'mobile'}\r\n" for i in range(80, 20, -1))
    imported(supervisor, "Name,Address,Phone,Other\r\n" + rows)
    imported(outsider, "Name,Other\r\nName 50,fixe\r\n")
    if indexed:
        tasks.index_contacts(supervisor.tenant.pk)
    pages, _last = walk(client_for(supervisor), "q=fixe")
    by_id = dict(ExternalContact.objects.values_list("pk", "name"))
    expected = sorted(f"Name {i:02d}" for i in range(21, 81) if i % 3)
    assert [len(page) for page in pages] == [25, 15]
    assert [by_id[pk] for page in pages for pk in page] == expected


def test_another_tenants_rows_are_never_found(client_for, supervisor, outsider, indexing_later):
    imported(outsider)
    client = client_for(supervisor)
    for query, _expected in SEARCHES:
        assert found(client, query) == set()
    tasks.index_contacts(outsider.tenant.pk)
    for query, _expected in SEARCHES:
        assert found(client, query) == set()


@pytest.mark.parametrize("indexed", [True, False])
def test_deleting_all_that_match_takes_their_search_rows_along(
    client_for, supervisor, indexing_later, indexed
):
    imported(supervisor)
    if indexed:
        tasks.index_contacts(supervisor.tenant.pk)
    client = client_for(supervisor)
    data = {"action": "delete", "select_all": "1", "filter": "q=paris", "confirmed": "1"}
    client.post(BULK, data)
    assert set(ExternalContact.objects.values_list("name", flat=True)) == {
        "Bob Martin",
        "Chloé Durand",
    }
    live = set(ExternalContact.objects.values_list("pk", flat=True))
    assert set(ContactSearch.objects.values_list("contact_id", flat=True)) <= live
    tasks.index_contacts(supervisor.tenant.pk)
    assert set(ContactSearch.objects.values_list("contact_id", flat=True)) == live


def test_undo_takes_the_search_rows_along(supervisor):
    job = imported(supervisor)
    kept = contact(supervisor.tenant, "Dan Brown")
    assert services.job_undo(job=job) == 3
    assert list(ContactSearch.objects.values_list("contact_id", flat=True)) == [kept.pk]


def test_the_index_task_leaves_rows_already_written_alone(supervisor, indexing_later):
    imported(supervisor)
    ada = ExternalContact.objects.get(name="Ada Lovelace")
    ada.other = "rappeler"
    ada.save()  # its search row now, before the task gets to the range
    tasks.index_contacts(supervisor.tenant.pk)
    assert "rappeler" in ContactSearch.objects.get(contact_id=ada.pk).text
    assert ContactSearch.objects.count() == 3


def test_a_starting_worker_queues_the_waiting_ranges(supervisor, outsider, indexing_later):
    imported(supervisor)
    imported(outsider)
    indexing_later.clear()
    for resume in registry.on_worker_ready:
        resume()
    assert sorted(indexing_later) == sorted([supervisor.tenant.pk, outsider.tenant.pk])


def test_names_sort_as_a_reader_expects_whatever_their_case(client_for, supervisor):
    for name in ("bob", "Ada", " carl", "Zoé", "éric"):
        contact(supervisor.tenant, name)
    client = client_for(supervisor)
    response = client.get(LIST)
    by_id = dict(ExternalContact.objects.values_list("pk", "name"))
    shown = [by_id[pk] for pk in listed_ids(response)]
    assert shown == ["Ada", "bob", " carl", "Zoé", "éric"]
    response = client.get(f"{LIST}?sort=-name")
    assert [by_id[pk] for pk in listed_ids(response)] == ["éric", "Zoé", " carl", "bob", "Ada"]
