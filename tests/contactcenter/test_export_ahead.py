"""Exports fetch the next chunks on a connection of their own (PostgreSQL, outside a
transaction): same rows in the same order, no thread left behind, errors passed on. A CSV
job's COPY runs there too, so that its progress can be written meanwhile."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from addressbook.exports import ExternalContactExporter
from addressbook.models import ExternalContact
from contactcenter import services
from contactcenter.jobs import exporting
from contactcenter.models import Job
from tests.factories import ExternalContactFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="server-side cursors: PostgreSQL only"
    ),
]


def fetch_threads() -> list[threading.Thread]:
    names = {"export-fetch-ahead", "export-copy-ahead"}
    return [t for t in threading.enumerate() if t.name in names]


@pytest.fixture
def many(tenant_a, monkeypatch):
    monkeypatch.setattr(exporting, "CHUNK", 7)  # several chunks for 50 rows
    ExternalContactFactory.create_batch(50, tenant=tenant_a)
    return ExternalContact.objects.for_tenant(tenant_a).order_by("name").values_list("name", "pk")


def test_rows_fetched_ahead_are_the_rows_in_their_order(many):
    assert not connection.in_atomic_block
    assert list(exporting._fetched_ahead(many)) == list(many)
    assert not fetch_threads()


def test_stopping_early_stops_the_thread(many):
    rows = exporting._fetched_ahead(many, depth=1)
    assert next(rows) == many[0]
    rows.close()
    assert not fetch_threads()


def test_an_error_while_fetching_reaches_the_reader(many):
    broken = many.extra(where=["1/0 = 1"])
    with pytest.raises(Exception, match="division by zero"):
        list(exporting._fetched_ahead(broken))
    assert not fetch_threads()


def test_a_csv_job_copies_on_its_own_connection_and_tells_its_progress(supervisor, monkeypatch):
    monkeypatch.setattr(exporting, "PROGRESS_EVERY", 7)
    ExternalContactFactory.create_batch(48, tenant=supervisor.tenant)
    ExternalContactFactory.create_batch(2, tenant=supervisor.tenant, other="-1\n=2")
    told, copy_csv = [], exporting.copy_csv

    def spied(exporter, stream, delimiter, progress):
        return copy_csv(exporter, stream, delimiter, lambda n: (told.append(n), progress(n)))

    monkeypatch.setattr(exporting, "copy_csv", spied)
    options = {"filter": {}, "format": "csv", "delimiter": ";"}
    job = services.job_start_export(
        user=supervisor, target=ExternalContactExporter.target, options=options
    )
    job.refresh_from_db()
    assert (job.status, job.processed, told) == (Job.Status.SUCCEEDED, 50, [*range(7, 50, 7), 50])
    streamed = "".join(exporting.stream_csv(ExternalContactExporter(supervisor.tenant, {}), ";"))
    assert job.result_file.read() == streamed.encode()
    assert not fetch_threads()
