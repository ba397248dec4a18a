"""Fixtures shared by the address book's tests (the standing cast is in tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve

from contactcenter.models import Job
from tests.addressbook.helpers import IMPORT_URL


@pytest.fixture
def upload(client_for, django_capture_on_commit_callbacks):
    """upload(user, data, name) → the import Job, run to its end through the upload page."""

    def run(user, data: str | bytes, name: str = "contacts.csv") -> Job:
        raw = data.encode() if isinstance(data, str) else data
        client = client_for(user)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(IMPORT_URL, {"file": SimpleUploadedFile(name, raw)})
        assert response.status_code == 302, response.content.decode()[:2000]
        job = Job.objects.get(pk=resolve(response.url).kwargs["pk"])
        assert job.is_final
        return job

    return run
