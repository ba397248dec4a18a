"""Undoing an import removes the contacts it created, and only those."""

from __future__ import annotations

import pytest
from django.urls import reverse

from addressbook.models import ExternalContact
from contactcenter.models import Job
from tests.addressbook.helpers import TARGET, contact
from tests.factories import ExternalContactFactory, JobFactory

pytestmark = pytest.mark.usefixtures("english")


def undo_url(job: Job) -> str:
    return reverse("job_undo", args=[job.pk])


def names(tenant) -> set[str]:
    return set(ExternalContact.objects.for_tenant(tenant).values_list("name", flat=True))


@pytest.fixture
def imports(supervisor, upload):
    """An older contact, then two imports: the first creates A1 and A2, the second B1."""
    contact(supervisor.tenant, "Old")
    first = upload(supervisor, "Name\r\nA1\r\nold\r\nA2\r\n")
    second = upload(supervisor, "Name\r\nB1\r\n")
    assert (first.created, first.rejected, second.created) == (2, 1, 1)
    return first, second


def test_undo_removes_only_what_this_import_created(client_for, supervisor, imports):
    first, _second = imports
    response = client_for(supervisor).post(undo_url(first))
    assert response.url == first.get_absolute_url()
    assert names(supervisor.tenant) == {"Old", "B1"}
    first.refresh_from_db()
    assert first.undone_at is not None


def test_undo_asks_first_with_the_count_and_changes_nothing(client_for, supervisor, imports):
    first, _second = imports
    ExternalContact.objects.filter(name="A2").delete()
    response = client_for(supervisor).get(undo_url(first))
    assert "Remove 1 row" in response.content.decode()
    assert names(supervisor.tenant) == {"Old", "A1", "B1"}
    first.refresh_from_db()
    assert first.undone_at is None


def test_undo_by_an_administrator_of_the_tenant(client_for, administrator, supervisor, imports):
    _first, second = imports
    client_for(administrator).post(undo_url(second))
    assert names(supervisor.tenant) == {"Old", "A1", "A2"}


def test_undo_of_another_tenants_import_is_a_404(client_for, outsider, supervisor, imports):
    first, _second = imports
    client = client_for(outsider)
    assert client.get(undo_url(first)).status_code == 404
    assert client.post(undo_url(first)).status_code == 404
    assert names(supervisor.tenant) == {"Old", "A1", "A2", "B1"}


def test_agent_may_not_undo_someone_elses_import(client_for, agent, supervisor, imports):
    first, _second = imports
    assert client_for(agent).post(undo_url(first)).status_code == 403
    assert names(supervisor.tenant) == {"Old", "A1", "A2", "B1"}


@pytest.fixture
def agents_import(agent):
    """An import the agent requested (before losing the right, say) that created one contact."""
    job = JobFactory(requester=agent, target=TARGET, status=Job.Status.SUCCEEDED, created=1)
    ExternalContactFactory(tenant=agent.tenant, name="Imported", import_job=job)
    return job


def test_agent_may_not_undo_even_its_own_import(client_for, agent, agents_import):
    client = client_for(agent)
    assert client.get(undo_url(agents_import)).status_code == 403
    assert client.post(undo_url(agents_import)).status_code == 403
    assert names(agent.tenant) == {"Imported"}


def test_an_undone_import_cannot_be_undone_twice(client_for, supervisor, imports):
    first, _second = imports
    client = client_for(supervisor)
    client.post(undo_url(first))
    first.refresh_from_db()
    undone_at = first.undone_at
    ExternalContactFactory(tenant=supervisor.tenant, name="Later", import_job=first)
    client.post(undo_url(first))
    first.refresh_from_db()
    assert (first.undone_at, names(supervisor.tenant)) == (undone_at, {"Old", "B1", "Later"})


def test_the_job_page_offers_undo_until_it_is_done(client_for, supervisor, imports):
    first, _second = imports
    client = client_for(supervisor)
    assert undo_url(first) in client.get(first.get_absolute_url()).content.decode()
    client.post(undo_url(first))
    text = client.get(first.get_absolute_url()).content.decode()
    assert undo_url(first) not in text
    assert "Undone on" in text


def test_the_job_page_hides_undo_from_who_may_not(client_for, agent, administrator, agents_import):
    page = agents_import.get_absolute_url()
    assert undo_url(agents_import) not in client_for(agent).get(page).content.decode()
    assert undo_url(agents_import) in client_for(administrator).get(page).content.decode()


def test_the_job_page_hides_undo_when_the_import_created_nothing(client_for, supervisor, upload):
    contact(supervisor.tenant, "Old")
    job = upload(supervisor, "Name\r\nold\r\n")
    assert job.created == 0
    assert undo_url(job) not in client_for(supervisor).get(job.get_absolute_url()).content.decode()
