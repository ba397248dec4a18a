"""The check-ahead thread: the next batches are read and checked while one is written.

It must change nothing of what an import does: same rows, same rejections in the same
language, same counters; a cancelled job stops it; an error in it fails the job.
"""

from __future__ import annotations

import sys
import threading

import pytest
from django.utils import translation

from addressbook.imports import ExternalContactImporter
from contactcenter import services
from contactcenter.jobs.importing import run_import
from contactcenter.models import Job
from tests.contactcenter.test_import_engine import MIXED, final_state, imported, start

pytestmark = pytest.mark.usefixtures("small_batches")


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(ExternalContactImporter, "batch_size", 2)


def ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "import-check-ahead"]


def test_checking_ahead_changes_nothing_of_the_outcome(settings, monkeypatch, supervisor, outsider):
    settings.JOBS_CHECK_AHEAD = False
    by_turns = final_state(imported(outsider, MIXED))
    settings.JOBS_CHECK_AHEAD = True
    original, checked_in, intervals = ExternalContactImporter.clean_row, set(), set()
    interval = sys.getswitchinterval()

    def clean_row(self, values):
        checked_in.add(threading.current_thread().name)
        intervals.add(sys.getswitchinterval())
        return original(self, values)

    monkeypatch.setattr(ExternalContactImporter, "clean_row", clean_row)
    ahead = final_state(imported(supervisor, MIXED))
    assert checked_in == {"import-check-ahead"}  # the rows were checked by the thread
    # The GIL changes hands quickly while the thread runs, and as before once it is done.
    assert list(intervals) == [pytest.approx(min(interval, 0.0002))]
    assert sys.getswitchinterval() == interval
    assert ahead == by_turns
    # Bob (phone), ADA (earlier in the file) and the nameless row are rejected.
    assert ahead["counters"] == (9, 9, 6, 0, 3)
    assert not ahead_threads()


def test_rejections_checked_ahead_speak_the_requesters_language(settings, supervisor):
    settings.JOBS_CHECK_AHEAD = True
    with translation.override("fr"):
        job = start(supervisor, MIXED)
    run_import(str(job.pk))
    reasons = dict(job.rejections.values_list("line", "reason"))
    assert (
        reasons[3]
        == "Phone\u202f: «\u202fnot a phone\u202f» n’est pas un numéro de téléphone valide"
    )
    assert reasons[8] == "Name\u202f: une valeur est obligatoire"


def test_a_cancelled_job_stops_the_thread(settings, monkeypatch, supervisor):
    settings.JOBS_CHECK_AHEAD = True
    original = ExternalContactImporter.write_batch

    def write_batch(self, rows):
        # The requester cancels while the first batch is written; the thread is ahead.
        services.job_cancel(job=Job.objects.get(pk=self.job.pk))
        return original(self, rows)

    monkeypatch.setattr(ExternalContactImporter, "write_batch", write_batch)
    job = imported(supervisor, MIXED)
    assert (job.status, job.processed, job.created) == (Job.Status.CANCELLED, 2, 1)
    assert not ahead_threads()


@pytest.mark.usefixtures("english")
def test_an_error_while_checking_ahead_fails_the_job(settings, monkeypatch, supervisor):
    settings.JOBS_CHECK_AHEAD = True
    original = ExternalContactImporter.clean_row

    def clean_row(self, values):
        if values["Name"] == "Eve":
            raise RuntimeError("bug in a validator")
        return original(self, values)

    monkeypatch.setattr(ExternalContactImporter, "clean_row", clean_row)
    job = imported(supervisor, MIXED)
    # The batches before Eve's are kept; Eve's and later ones were never written.
    assert (job.status, job.processed) == (Job.Status.FAILED, 6)
    assert "unexpected error" in job.message
    assert not ahead_threads()
