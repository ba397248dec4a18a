"""Jobs through a real `celery worker` process, the configured broker and the test database.

The test process is kept from running a job itself, so a job that ends proves that the task
travelled through the broker and that another process ran it.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from functools import partial

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse

from addressbook.imports import ExternalContactImporter
from addressbook.models import ExternalContact
from campaigns.imports import CampaignContactImporter
from campaigns.models import CampaignContact
from contactcenter import tasks
from contactcenter.celery import app as celery_app
from contactcenter.models import Job, Notification
from tests.campaigns.factories import CampaignContactFactory, ContactListFactory
from tests.conftest import start_worker, stop_worker, wait_for
from tests.factories import ExternalContactFactory

pytestmark = pytest.mark.worker

IMPORT_CSV = (
    b"Name;Phone;Other\r\n"
    b"Ada Lovelace;01 23 45 67 89;first\r\n"
    b"Alan Turing;+44 20 7946 0958;\r\n"
    b"ada lovelace;06 12 34 56 78;same name, other case\r\n"
    b"Grace Hopper;12;too short to be a phone\r\n"
    b"Edsger Dijkstra;;no phone\r\n"
)


@pytest.fixture
def worker_only(celery_worker, monkeypatch):
    """Tasks go to the real worker; running one in the test process fails the test."""

    def not_here(job_id: str) -> None:
        raise AssertionError(f"job {job_id} ran in the test process, not in the worker")

    monkeypatch.setattr(tasks, "run_import", not_here)
    monkeypatch.setattr(tasks, "run_export", not_here)
    return celery_worker


def final_job(pk) -> Job:
    def job_is_final():
        """the job to reach a final status"""
        job = Job.objects.get(pk=pk)
        return job if job.is_final else None

    return wait_for(job_is_final)


def test_worker_imports_an_upload_and_tells_the_requester(worker_only, client_for, supervisor):
    client = client_for(supervisor)
    client.post(reverse("set_language"), {"language": "en"})
    upload = SimpleUploadedFile("people.csv", IMPORT_CSV, content_type="text/csv")
    response = client.post(
        reverse("import_start", args=["addressbook.externalcontact"]), {"file": upload}
    )

    job = final_job(Job.objects.get(requester=supervisor).pk)
    assert response.url == job.get_absolute_url()
    assert (job.status, job.attempts) == (Job.Status.PARTIAL, 1)
    assert (job.total, job.processed, job.created, job.rejected) == (5, 5, 3, 2)
    contacts = ExternalContact.objects.for_tenant(supervisor.tenant).filter(import_job=job)
    assert sorted(contacts.values_list("name", "phone_e164")) == [
        ("Ada Lovelace", "+33123456789"),
        ("Alan Turing", "+442079460958"),
        ("Edsger Dijkstra", ""),
    ]
    assert [(r.line, r.values[0]) for r in job.rejections.order_by("line")] == [
        (4, "ada lovelace"),
        (5, "Grace Hopper"),
    ]
    notification = Notification.objects.get(user=supervisor)
    assert (notification.level, notification.link, notification.is_read) == (
        Notification.Level.WARNING,
        job.get_absolute_url(),
        False,
    )
    assert notification.text == (
        "Import of people.csv partially succeeded: 3 created, 0 updated, 2 rejected."
    )


def test_worker_writes_an_export_file_to_download(worker_only, client_for, supervisor):
    ExternalContactFactory(tenant=supervisor.tenant, name="Bob", phone="01 23 45 67 89")
    ExternalContactFactory(tenant=supervisor.tenant, name="Alice", other="=SUM(A1:A2)")
    ExternalContactFactory(name="Someone of another tenant")
    client = client_for(supervisor)

    client.post(reverse("export_start", args=["addressbook.externalcontact"]), {"format": "csv"})

    job = final_job(Job.objects.get(requester=supervisor, kind=Job.Kind.EXPORT).pk)
    assert (job.status, job.processed) == (Job.Status.SUCCEEDED, 2)
    response = client.get(reverse("job_download", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="external-contacts-')
    assert b"".join(response.streaming_content).decode("utf-8-sig").splitlines() == [
        "Name,Address,Phone,Mobile,Other,Email",
        "Alice,,,,'=SUM(A1:A2),",
        "Bob,,01 23 45 67 89,,,",
    ]
    assert Notification.objects.filter(user=supervisor, link=job.get_absolute_url()).exists()


def test_worker_imports_campaign_contacts_over_several_batches_in_file_order(
    worker_only, client_for, supervisor
):
    """On PostgreSQL the worker writes two batches of a campaign import at a time."""
    contact_list = ContactListFactory(campaign__tenant=supervisor.tenant)
    size = CampaignContactImporter.batch_size
    rows = [f"C{n:05d}" for n in range(size * 2 + 2_000)]
    rows[size + 2] = rows[size - 1]  # the second batch repeats the first one's last id
    lines = "".join(f"{e};06{n:08d}\r\n" for n, e in enumerate(rows))
    upload = SimpleUploadedFile("calls.csv", f"Contact ID;Address 1\r\n{lines}".encode())
    client = client_for(supervisor)
    client.post(reverse("set_language"), {"language": "en"})
    client.post(
        reverse("import_start", args=["campaigns.campaigncontact"]),
        {"file": upload, "contact_list": contact_list.pk},
    )

    job = final_job(Job.objects.get(requester=supervisor).pk)
    assert (job.status, job.processed, job.created, job.rejected) == (
        Job.Status.PARTIAL,
        len(rows),
        len(rows) - 1,
        1,
    )
    assert [(r.line, r.reason) for r in job.rejections.all()] == [
        (size + 4, f"Contact ID: “{rows[size - 1]}” appears earlier in the file")
    ]
    created = CampaignContact.objects.filter(import_job=job).order_by("id")
    assert (
        list(created.values_list("external_id", flat=True)) == rows[: size + 2] + rows[size + 3 :]
    )
    log = worker_only.log_path.read_text()
    two_writers = connection.vendor == "postgresql"
    assert (f"Import {job.pk}: writing two batches at a time" in log) == two_writers
    assert "one batch at a time" not in log


# --- a worker killed in the middle of an import ---------------------------------------------

REDELIVERY_QUEUE = "test-redelivery"
VISIBILITY_TIMEOUT = 1
ROWS = ExternalContactImporter.batch_size + 1  # two batches: the worker is killed between them


def _redelivery_possible() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and (
        settings.CELERY_BROKER_URL.startswith("redis://")
    )


@contextmanager
def held_by_another_transaction(make):
    """make() run in a transaction left open on another connection: a worker inserting the
    same key waits for it at the unique index until this block ends (and rolls it back)."""
    inserted, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                make()
                inserted.set()
                release.wait(120)
                transaction.set_rollback(True)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert inserted.wait(10), "the holding transaction did not start"
        yield
    finally:
        release.set()
        thread.join()


@pytest.fixture
def own_queue(transactional_db, monkeypatch):
    """Jobs go to a queue that only this test's workers consume, through the real broker."""
    celery_app.conf.task_always_eager = False
    monkeypatch.setattr(
        tasks.run_job.__class__,
        "delay",
        lambda task, job_id: task.apply_async((job_id,), queue=REDELIVERY_QUEUE),
    )


def killed_after_first_batch(job: Job, media_root, log_path, batch_size: int) -> None:
    """Run the job on a worker of its own and kill that worker (SIGKILL) once the first batch
    is committed; the second batch cannot be, a key of it being held meanwhile."""
    worker = start_worker(log_path, media_root, queues=REDELIVERY_QUEUE)

    def first_batch_committed() -> bool:
        """the worker to commit the first batch"""
        return Job.objects.filter(pk=job.pk, processed=batch_size).exists()

    try:
        wait_for(first_batch_committed)
    finally:
        worker.kill()
        worker.wait()


def resumed_by_another_worker(job: Job, media_root, log_path) -> Job:
    # The killed worker never acknowledged the message. A worker puts such a message back in
    # its queue in the sweep it makes on start-up, if it is older than the visibility timeout
    # (an hour in production, a second here); its next sweep would come 100 s later.
    time.sleep(VISIBILITY_TIMEOUT + 1)
    env = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    worker = start_worker(log_path, media_root, queues=REDELIVERY_QUEUE, extra_env=env)
    try:
        return final_job(job.pk)
    finally:
        stop_worker(worker)


@pytest.mark.skipif(
    not _redelivery_possible(),
    reason="needs Redis, whose unacknowledged messages are handed out again (the file-system "
    "broker deletes a message as it delivers it), and PostgreSQL, whose row locks can hold a "
    "worker between two batches (SQLite locks the whole file)",
)
def test_import_resumes_on_another_worker_after_its_worker_is_killed(
    own_queue, client_for, supervisor, media_root, tmp_path
):
    lines = "\r\n".join(["Name", *(f"Row {n}" for n in range(1, ROWS + 1))]).encode()
    upload = SimpleUploadedFile("rows.csv", lines, content_type="text/csv")
    held = partial(ExternalContactFactory, tenant=supervisor.tenant, name=f"Row {ROWS}")
    with held_by_another_transaction(held):
        client_for(supervisor).post(
            reverse("import_start", args=["addressbook.externalcontact"]), {"file": upload}
        )
        job = Job.objects.get(requester=supervisor)
        killed_after_first_batch(job, media_root, tmp_path / "first.log", batch_size=ROWS - 1)

    job = resumed_by_another_worker(job, media_root, tmp_path / "second.log")
    assert (job.status, job.attempts) == (Job.Status.SUCCEEDED, 2)
    assert (job.processed, job.created, job.rejected) == (ROWS, ROWS, 0)
    assert ExternalContact.objects.for_tenant(supervisor.tenant).count() == ROWS
    assert Notification.objects.filter(user=supervisor).count() == 1


@pytest.mark.skipif(not _redelivery_possible(), reason="as the test above")
def test_campaign_import_written_two_batches_at_a_time_resumes_after_a_kill(
    own_queue, client_for, supervisor, media_root, tmp_path
):
    """Killed while batch 2 waits for a held Contact ID (and batch 3 is written beside it):
    both roll back, and the next delivery writes them, the ids still in file order."""
    contact_list = ContactListFactory(campaign__tenant=supervisor.tenant)
    size = CampaignContactImporter.batch_size
    rows = [f"R{n:05d}" for n in range(size * 3 + 100)]
    lines = "".join(f"{e};06{n:08d}\r\n" for n, e in enumerate(rows))
    upload = SimpleUploadedFile("calls.csv", f"Contact ID;Address 1\r\n{lines}".encode())
    held = partial(CampaignContactFactory, contact_list=contact_list, external_id=rows[size + 9])
    with held_by_another_transaction(held):
        client_for(supervisor).post(
            reverse("import_start", args=["campaigns.campaigncontact"]),
            {"file": upload, "contact_list": contact_list.pk},
        )
        job = Job.objects.get(requester=supervisor)
        killed_after_first_batch(job, media_root, tmp_path / "first.log", batch_size=size)

    job = resumed_by_another_worker(job, media_root, tmp_path / "second.log")
    assert (job.status, job.attempts) == (Job.Status.SUCCEEDED, 2)
    assert (job.processed, job.created, job.rejected) == (len(rows), len(rows), 0)
    created = CampaignContact.objects.filter(import_job=job).order_by("id")
    assert list(created.values_list("external_id", flat=True)) == rows
    for log in ("first.log", "second.log"):
        assert "writing two batches at a time" in (tmp_path / log).read_text()
