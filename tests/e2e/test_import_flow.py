"""A supervisor imports a file in the browser and follows the job to its end.

The real Celery worker is paused (SIGSTOP) while the job page first loads, so the page is
known to start at "Queued" and every later change reaches it through htmx polling, not
through a server-side render of an already finished job.
"""

from __future__ import annotations

import os
import re
import signal
from contextlib import contextmanager

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from contactcenter.models import Job

pytestmark = pytest.mark.browser

CSV = (
    b"Name,Phone,Other\n"
    b"Ada Lovelace,01 23 45 67 89,\n"
    b"Alan Turing,+44 20 7946 0958,\n"
    b"Grace Hopper,06 12 34 56 78,\n"
    b"ada lovelace,,already in the file\n"
    b"Edsger Dijkstra,12,not a phone number\n"
)


@contextmanager
def paused(process):
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def test_supervisor_imports_a_file_and_follows_the_job(
    page, live_server, celery_worker, supervisor, log_in, upload, tmp_path
):
    log_in(supervisor)
    status = page.locator("#job-status .job-status")
    progress = page.locator("#job-status [role=progressbar]")
    unread = page.locator("#notification-bell [data-unread]")
    with paused(celery_worker):
        upload(CSV)
        expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
        expect(status).to_have_text("Queued")
        expect(progress).to_have_attribute("aria-valuenow", "0")
        expect(unread).to_have_count(0)
        page.evaluate("window.sameDocument = true")

    expect(progress).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    expect(progress).to_contain_text("100")
    expect(status).to_have_text("Partially succeeded")
    expect(page.locator("[data-counter=created]")).to_have_text("3")
    expect(page.locator("[data-counter=rejected]")).to_have_text("2")
    job = Job.objects.get(requester=supervisor)
    rejected_rows = page.get_by_role("link", name="Download the 2 rejected rows")
    expect(rejected_rows).to_have_attribute("href", reverse("job_error_report", args=[job.pk]))
    expect(unread).to_have_attribute("data-unread", "1", timeout=5_000)
    assert page.evaluate("window.sameDocument") is True, "the job page was reloaded"
    page.screenshot(path=tmp_path / "job.png", full_page=True)

    page.locator("#notification-bell").click()
    expect(page.locator("#notifications")).to_contain_text(
        "Import of people.csv partially succeeded: 3 created, 0 updated, 2 rejected."
    )
    page.screenshot(path=tmp_path / "notifications.png", full_page=True)
