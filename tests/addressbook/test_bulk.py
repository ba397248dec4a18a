"""Bulk export and delete of ticked rows or of all that match; the per-row menu's export and delete."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from addressbook.models import ExternalContact
from contactcenter.models import Job, Notification
from tests.addressbook.helpers import HEADER, contact

pytestmark = pytest.mark.usefixtures("english")

BULK = reverse("addressbook:contact_bulk")


def delete_url(pk: int) -> str:
    return reverse("addressbook:contact_delete", args=[pk])


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:]), delimiter=";" if ";" in body else ","))


def xlsx_rows(data: bytes) -> list[list[str]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]


def remaining(tenant) -> set[str]:
    return set(ExternalContact.objects.for_tenant(tenant).values_list("name", flat=True))


@pytest.fixture
def book(supervisor, outsider):
    """Tenant A: Ada, Bob, Chloé (two of them say "fixe"); tenant B: its own "fixe" contact."""
    tenant = supervisor.tenant
    rows = {
        "Ada": contact(tenant, "Ada", "01 23 45 67 89", other="fixe", email="ada@example.com"),
        "Bob": contact(tenant, "Bob", mobile="+33 6 12 34 56 78", address="1 rue Lepic"),
        "Chloé": contact(tenant, "Chloé", other="ligne fixe"),
    }
    rows["Oscar"] = contact(outsider.tenant, "Oscar", other="fixe")
    return rows


# --- export ---------------------------------------------------------------------------------------


def test_export_of_ticked_rows_downloads_them_as_csv(client_for, supervisor, book):
    data = {"action": "export", "format": "csv", "selection": [book["Ada"].pk, book["Bob"].pk]}
    response = client_for(supervisor).post(BULK, data)
    assert response["Content-Disposition"] == 'attachment; filename="external-contacts.csv"'
    assert csv_rows(response) == [
        HEADER,
        ["Ada", "", "01 23 45 67 89", "", "fixe", "ada@example.com"],
        ["Bob", "1 rue Lepic", "", "+33612345678", "", ""],
    ]


def test_export_with_semicolons_for_french_excel(client_for, supervisor, book):
    data = {"action": "export", "format": "csv", "delimiter": ";", "selection": [book["Ada"].pk]}
    response = client_for(supervisor).post(BULK, data)
    assert b"".join(response.streaming_content).decode().splitlines()[1] == (
        "Ada;;01 23 45 67 89;;fixe;ada@example.com"
    )


def test_export_of_ticked_rows_as_xlsx(client_for, supervisor, book):
    data = {"action": "export", "format": "xlsx", "selection": [book["Chloé"].pk]}
    response = client_for(supervisor).post(BULK, data)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert xlsx_rows(response.content) == [HEADER, ["Chloé", "", "", "", "ligne fixe", ""]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_of_all_matching_rows_replays_the_filter_in_the_tenant(
    client_for, supervisor, book, fmt
):
    data = {"action": "export", "format": fmt, "select_all": "1", "filter": "q=fixe&sort=-name"}
    response = client_for(supervisor).post(BULK, data)
    rows = csv_rows(response) if fmt == "csv" else xlsx_rows(response.content)
    assert [row[0] for row in rows] == ["Name", "Ada", "Chloé"]


@pytest.fixture
def large_export(client_for, supervisor, book, settings, django_capture_on_commit_callbacks):
    """All three contacts exported with the inline limit at 2: (the response, the job)."""
    settings.JOBS_EXPORT_INLINE_MAX_ROWS = 2
    data = {"action": "export", "format": "csv", "select_all": "1", "filter": ""}
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(supervisor).post(BULK, data)
    return response, Job.objects.get(kind=Job.Kind.EXPORT)


def test_large_export_becomes_a_job_that_notifies_its_requester(supervisor, large_export):
    response, job = large_export
    assert response.url == job.get_absolute_url()
    assert (job.tenant, job.requester, job.status) == (supervisor.tenant, supervisor, "succeeded")
    notification = Notification.objects.get(user=supervisor)
    assert notification.text.startswith("Export ready: 3 rows")
    assert notification.link == job.get_absolute_url()


def test_large_export_job_page_offers_the_file(client_for, supervisor, large_export):
    _response, job = large_export
    client, download_url = client_for(supervisor), reverse("job_download", args=[job.pk])
    assert download_url in client.get(job.get_absolute_url()).content.decode()
    download = b"".join(client.get(download_url).streaming_content).decode("utf-8-sig")
    names = [row[0] for row in csv.reader(io.StringIO(download))]
    assert names == ["Name", "Ada", "Bob", "Chloé"]


def test_export_job_of_ticked_rows_exports_only_them(
    client_for, supervisor, book, settings, django_capture_on_commit_callbacks
):
    settings.JOBS_EXPORT_INLINE_MAX_ROWS = 1
    data = {"action": "export", "format": "xlsx", "selection": [book["Bob"].pk, book["Ada"].pk]}
    with django_capture_on_commit_callbacks(execute=True):
        client_for(supervisor).post(BULK, data)
    job = Job.objects.get(kind=Job.Kind.EXPORT)
    rows = xlsx_rows(job.result_file.read())
    assert [row[0] for row in rows] == ["Name", "Ada", "Bob"]


def test_export_at_the_inline_limit_downloads_at_once(client_for, supervisor, book, settings):
    settings.JOBS_EXPORT_INLINE_MAX_ROWS = 3
    data = {"action": "export", "select_all": "1", "filter": ""}
    response = client_for(supervisor).post(BULK, data)
    assert len(csv_rows(response)) == 4
    assert not Job.objects.exists()


# --- delete ---------------------------------------------------------------------------------------


def test_bulk_delete_asks_first_stating_the_count(client_for, supervisor, book):
    data = {"action": "delete", "selection": [book["Ada"].pk, book["Bob"].pk]}
    response = client_for(supervisor).post(BULK, data)
    text = response.content.decode()
    assert "Delete 2 contacts?" in text
    assert 'name="confirmed" value="1"' in text
    assert remaining(supervisor.tenant) == {"Ada", "Bob", "Chloé"}


def test_bulk_delete_once_confirmed_deletes_exactly_the_ticked_rows(client_for, supervisor, book):
    data = {"action": "delete", "confirmed": "1", "selection": [book["Ada"].pk, book["Bob"].pk]}
    response = client_for(supervisor).post(BULK, data)
    assert response.status_code == 302
    assert remaining(supervisor.tenant) == {"Chloé"}


def test_bulk_delete_of_all_matching_counts_then_deletes_only_them(client_for, supervisor, book):
    client = client_for(supervisor)
    data = {"action": "delete", "select_all": "1", "filter": "q=fixe"}
    assert "Delete 2 contacts?" in client.post(BULK, data).content.decode()
    client.post(BULK, {**data, "confirmed": "1"})
    assert remaining(supervisor.tenant) == {"Bob"}
    assert ExternalContact.objects.filter(pk=book["Oscar"].pk).exists()


def test_confirmation_page_carries_the_same_selection(client_for, supervisor, book):
    client = client_for(supervisor)
    ticked = {"action": "delete", "selection": [book["Chloé"].pk]}
    text = client.post(BULK, ticked).content.decode()
    assert "Delete 1 contact?" in text
    assert f'name="selection" value="{book["Chloé"].pk}"' in text
    assert f'name="selection" value="{book["Ada"].pk}"' not in text


# --- tenant isolation, permissions, method ---------------------------------------------------


@pytest.mark.parametrize("action", ["export", "delete"])
def test_another_tenants_id_in_a_selection_is_a_404_and_changes_nothing(
    client_for, outsider, book, action
):
    data = {"action": action, "confirmed": "1", "selection": [book["Oscar"].pk, book["Ada"].pk]}
    response = client_for(outsider).post(BULK, data)
    assert response.status_code == 404
    assert ExternalContact.objects.count() == 4


@pytest.mark.parametrize("selection", [["abc"], [], ["999999"]])
def test_a_bad_or_empty_selection_is_a_404(client_for, supervisor, book, selection):
    data = {"action": "delete", "confirmed": "1", "selection": selection}
    assert client_for(supervisor).post(BULK, data).status_code == 404
    assert ExternalContact.objects.count() == 4


def test_select_all_never_reaches_another_tenant(client_for, outsider, book):
    data = {"action": "delete", "confirmed": "1", "select_all": "1", "filter": ""}
    client_for(outsider).post(BULK, data)
    assert ExternalContact.objects.count() == 3
    assert not ExternalContact.objects.filter(pk=book["Oscar"].pk).exists()


@pytest.mark.parametrize("action", ["export", "delete"])
def test_agent_may_neither_export_nor_delete(client_for, agent, book, action):
    data = {"action": action, "confirmed": "1", "selection": [book["Ada"].pk]}
    assert client_for(agent).post(BULK, data).status_code == 403
    assert ExternalContact.objects.count() == 4


def test_bulk_actions_refuse_get(client_for, supervisor, book):
    data = {"action": "delete", "confirmed": "1", "selection": [book["Ada"].pk]}
    assert client_for(supervisor).get(BULK, data).status_code == 405
    assert ExternalContact.objects.count() == 4


def test_an_unknown_action_changes_nothing(client_for, supervisor, book):
    data = {"action": "drop", "confirmed": "1", "selection": [book["Ada"].pk]}
    assert client_for(supervisor).post(BULK, data).status_code == 302
    assert ExternalContact.objects.count() == 4


# --- the per-row menu ---------------------------------------------------------------------------


def test_row_export_downloads_that_contact(client_for, supervisor, book):
    response = client_for(supervisor).post(BULK, {"action": "export", "selection": book["Bob"].pk})
    assert [row[0] for row in csv_rows(response)] == ["Name", "Bob"]


def test_row_delete_asks_then_deletes_that_contact(client_for, supervisor, book):
    client, url = client_for(supervisor), delete_url(book["Bob"].pk)
    assert "Delete “Bob”?" in client.get(url).content.decode()
    assert remaining(supervisor.tenant) == {"Ada", "Bob", "Chloé"}
    assert client.post(url).status_code == 302
    assert remaining(supervisor.tenant) == {"Ada", "Chloé"}


def test_row_delete_of_another_tenants_contact_is_a_404(client_for, outsider, book):
    client = client_for(outsider)
    assert client.get(delete_url(book["Ada"].pk)).status_code == 404
    assert client.post(delete_url(book["Ada"].pk)).status_code == 404
    assert ExternalContact.objects.count() == 4


def test_agent_may_not_delete_a_row(client_for, agent, book):
    assert client_for(agent).post(delete_url(book["Ada"].pk)).status_code == 403
    assert ExternalContact.objects.count() == 4
