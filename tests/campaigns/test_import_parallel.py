"""A campaign import written two batches at a time, on two connections (PostgreSQL).

Transactional tests: the second writer has a connection of its own, which sees only what is
committed, as in the worker.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from django.core.files.base import ContentFile
from django.db import OperationalError, connection, connections, transaction

from campaigns.imports import CampaignContactImporter
from campaigns.models import CampaignContact
from contactcenter import services
from contactcenter.jobs import importing
from contactcenter.models import Job
from tests.campaigns.factories import CampaignContactFactory, ContactListFactory
from tests.campaigns.uploads import CONTACTS, rejections

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers: PostgreSQL only"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("english"),
]

BATCH = 20


@pytest.fixture
def contact_list(supervisor, settings, monkeypatch):
    settings.JOBS_PARALLEL_WRITES = True
    settings.JOBS_CHECK_AHEAD = True
    monkeypatch.setattr(CampaignContactImporter, "batch_size", BATCH)
    return ContactListFactory(campaign__tenant=supervisor.tenant)


def ids(count: int) -> list[str]:
    return [f"C{n:04d}" for n in range(count)]


def csv_of(external_ids: list[str]) -> bytes:
    lines = [f"{e};06{n:08d}\r\n" for n, e in enumerate(external_ids)]
    return ("Contact ID;Address 1\r\n" + "".join(lines)).encode()


def run(supervisor, contact_list, data: bytes) -> Job:
    """The import of `data` into contact_list, run (eagerly) to its end."""
    job = services.job_start_import(
        user=supervisor,
        target=CONTACTS,
        upload=ContentFile(data, name="contacts.csv"),
        params={"contact_list": contact_list.pk},
    )
    job.refresh_from_db()
    assert job.is_final
    return job


@pytest.fixture
def writes(monkeypatch):
    """What each write_batch did, in the order things happened: ("write"|"done", first Contact
    ID of the batch, thread name). Each write takes 100 ms, so that two are in flight at once."""
    events: list[tuple[str, str, str]] = []
    original = CampaignContactImporter.write_batch

    def write_batch(self, batch):
        first, thread = batch.fresh[0][1][0], threading.current_thread().name
        events.append(("write", first, thread))
        time.sleep(0.1)
        result = original(self, batch)
        events.append(("done", first, thread))
        return result

    monkeypatch.setattr(CampaignContactImporter, "write_batch", write_batch)
    return events


def test_two_writers_write_every_batch_and_the_ids_follow_the_file(
    supervisor, contact_list, writes
):
    CampaignContactFactory(contact_list=contact_list, external_id="C0050")
    rows = ids(200)
    rows[130] = "C0005"  # earlier in the file, five batches before
    job = run(supervisor, contact_list, csv_of(rows))
    assert (job.status, job.processed, job.created, job.rejected) == (
        Job.Status.PARTIAL,
        200,
        198,
        2,
    )
    assert rejections(job) == [
        (52, "Contact ID: “C0050” already exists in this campaign"),
        (132, "Contact ID: “C0005” appears earlier in the file"),
    ]
    # Both writers wrote, at the same time…
    assert {thread for _e, _f, thread in writes} == {"MainThread", "import-writer"}
    in_flight = peak = 0
    for event, _first, _thread in writes:
        in_flight += 1 if event == "write" else -1
        peak = max(peak, in_flight)
    assert peak == 2
    # … and the contacts' ids are in the file's order (the dialer takes equal ones by id).
    created = CampaignContact.objects.filter(import_job=job).order_by("id")
    expected = [e for n, e in enumerate(rows) if e != "C0050" and n != 130]
    assert list(created.values_list("external_id", flat=True)) == expected
    assert created.get(external_id="C0199").addresses.get().value == "+33600000199"


def test_a_batch_sharing_an_id_with_the_one_before_waits_for_its_commit(
    supervisor, contact_list, writes, monkeypatch, caplog
):
    locked, may_go_on = [], importing._may_go_on

    def record(job):
        locked.append(threading.current_thread().name)
        writes.append(("locked", "", threading.current_thread().name))
        return may_go_on(job)

    monkeypatch.setattr(importing, "_may_go_on", record)
    rows = ids(60)
    rows[25] = "C0003"  # batch 1 repeats an id of batch 0
    job = run(supervisor, contact_list, csv_of(rows))
    assert rejections(job) == [(27, "Contact ID: “C0003” appears earlier in the file")]
    # Batch 1 started writing only after batch 0 had locked the job (its commit's turn); batch
    # 2 shares nothing with batch 1, so it was written beside it.
    order = [(event, first) for event, first, _thread in writes]
    assert order.index(("write", "C0020")) > order.index(("locked", ""))
    assert order.index(("write", "C0040")) < order.index(("done", "C0020"))
    assert "one batch at a time" not in caplog.text


def on_batch(monkeypatch, first: str, action) -> None:
    """action(importer) when the batch whose first Contact ID is `first` is written."""
    original = CampaignContactImporter.write_batch

    def write_batch(self, batch):
        if batch.fresh[0][1][0] == first:
            action(self)
        return original(self, batch)

    monkeypatch.setattr(CampaignContactImporter, "write_batch", write_batch)


def assert_ended(job: Job, status: str, processed: int) -> None:
    """The job ended with `status` after `processed` rows, and those rows exactly are created."""
    assert (job.status, job.processed) == (status, processed)
    created = CampaignContact.objects.filter(import_job=job)
    assert sorted(created.values_list("external_id", flat=True)) == ids(processed)


def test_an_error_in_one_writer_fails_the_job_and_keeps_the_batches_before_it(
    supervisor, contact_list, writes, monkeypatch
):
    def fail(importer):
        raise RuntimeError("disk on fire")

    on_batch(monkeypatch, "C0060", fail)
    job = run(supervisor, contact_list, csv_of(ids(200)))
    # Batches 0–2 committed; batch 3 failed, and batch 4, written beside it, was rolled back.
    assert_ended(job, Job.Status.FAILED, 60)


def test_a_job_cancelled_meanwhile_stops_at_a_whole_batch(
    supervisor, contact_list, writes, monkeypatch
):
    def cancel(importer):
        # As the cancel button does: from another connection, committed at once, here once
        # batch 1 (beside this one) has committed.
        canceller = threading.Thread(target=cancelled, args=[importer.job.pk])
        canceller.start()
        # Bounded: with one writer the job row is locked by this very batch, and the cancel
        # would wait for it (the test then fails on the counts instead of hanging).
        canceller.join(15)

    def cancelled(pk) -> None:
        try:
            deadline = time.monotonic() + 10
            while Job.objects.get(pk=pk).processed < 40 and time.monotonic() < deadline:
                time.sleep(0.01)
            Job.objects.filter(pk=pk).update(status=Job.Status.CANCELLED)
        finally:
            connection.close()

    on_batch(monkeypatch, "C0040", cancel)
    job = run(supervisor, contact_list, csv_of(ids(200)))
    # The batch in hand when the job was cancelled, and the one beside it, were rolled back.
    assert_ended(job, Job.Status.CANCELLED, 40)


def test_a_writer_kept_waiting_for_a_lock_hands_over_to_one_batch_at_a_time(
    supervisor, contact_list, monkeypatch, caplog
):
    """Another transaction holds a Contact ID of the file, uncommitted (another import of the
    same ids, say): the writer that meets it gives up after LOCK_TIMEOUT, and the rest of the
    file is written one batch at a time, which waits for the holder."""
    monkeypatch.setattr(importing, "LOCK_TIMEOUT", "200ms")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                CampaignContactFactory(contact_list=contact_list, external_id="C0110")
                holding.set()
                release.wait(10)
                transaction.set_rollback(True)
        finally:
            connection.close()

    def released_then_in_turn(*args):
        release.set()
        return in_turn(*args)

    in_turn = importing._write_in_turn
    monkeypatch.setattr(importing, "_write_in_turn", released_then_in_turn)
    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    with caplog.at_level(logging.WARNING, logger="contactcenter.jobs.importing"):
        job = run(supervisor, contact_list, csv_of(ids(200)))
    holder.join()
    assert "going on one batch at a time" in caplog.text
    assert (job.status, job.processed, job.created, job.rejected) == (
        Job.Status.SUCCEEDED,
        200,
        200,
        0,
    )
    created = CampaignContact.objects.filter(import_job=job).order_by("id")
    assert list(created.values_list("external_id", flat=True)) == ids(200)


def test_contacts_take_their_ids_when_staged_not_when_written(supervisor, contact_list):
    """Batch A staged before batch B but written after it: A's contacts still come first."""
    importer = CampaignContactImporter(run(supervisor, contact_list, csv_of(["FIRST"])))
    positions, _missing, _unknown = importer.map_header(["Contact ID", "Address 1"])

    def batch(names: list[str]):
        values = [[name, f"06{n:08d}"] for n, name in enumerate(names)]
        rows = [(n + 2, importing.check_row(importer, positions, v)) for n, v in enumerate(values)]
        return importer.prepare_batch(rows)

    first, second = batch(["A1", "A2"]), batch(["B1", "B2"])
    staged, written = threading.Event(), threading.Event()

    def stage_then_write() -> None:
        try:
            with transaction.atomic():
                importer.stage_batch(first)
                staged.set()
                assert written.wait(10)
                importer.write_batch(first)
        finally:
            connection.close()

    writer = threading.Thread(target=stage_then_write)
    writer.start()
    assert staged.wait(10)
    with transaction.atomic():
        importer.stage_batch(second)
        importer.write_batch(second)
    written.set()
    writer.join()
    created = CampaignContact.objects.exclude(external_id="FIRST").order_by("id")
    assert list(created.values_list("external_id", flat=True)) == ["A1", "A2", "B1", "B2"]


def test_an_error_while_reading_ends_both_writers_at_a_whole_batch(
    supervisor, contact_list, monkeypatch
):
    original = CampaignContactImporter.clean_row

    def clean_row(self, values):
        if values["Contact ID"] == "C0105":
            raise RuntimeError("unreadable")
        return original(self, values)

    monkeypatch.setattr(CampaignContactImporter, "clean_row", clean_row)
    job = run(supervisor, contact_list, csv_of(ids(200)))
    # Batches 0–3 committed at least; whatever committed is whole batches, counted.
    assert job.processed in (80, 100)
    assert_ended(job, Job.Status.FAILED, job.processed)


def test_without_a_second_connection_one_writer_writes_it_all(
    supervisor, contact_list, monkeypatch, caplog
):
    wrapper = type(connections["default"])
    ensure_connection = wrapper.ensure_connection

    def refused_beside(self):
        if threading.current_thread().name == "import-writer":
            raise OperationalError("too many clients already")
        return ensure_connection(self)

    monkeypatch.setattr(wrapper, "ensure_connection", refused_beside)
    with caplog.at_level(logging.WARNING, logger="contactcenter.jobs.importing"):
        job = run(supervisor, contact_list, csv_of(ids(100)))
    assert "no second connection (too many clients already); one writer" in caplog.text
    assert (job.status, job.processed, job.created) == (Job.Status.SUCCEEDED, 100, 100)
    created = CampaignContact.objects.filter(import_job=job).order_by("id")
    assert list(created.values_list("external_id", flat=True)) == ids(100)
