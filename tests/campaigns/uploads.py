"""Running an import through the upload page, as a supervisor does (tasks run eagerly)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve, reverse

from contactcenter.models import Job

CONTACTS = "campaigns.campaigncontact"
ENTRIES = "campaigns.donotcallentry"


def post_import(client, target: str, data: str | bytes, name: str = "file.csv", **params):
    raw = data.encode() if isinstance(data, str) else data
    upload = SimpleUploadedFile(name, raw)
    return client.post(reverse("import_start", args=[target]), {"file": upload, **params})


def run_import(client, capture, target: str, data, name: str = "file.csv", **params) -> Job:
    """The Job of `data` uploaded with `params`, run to its end; `capture` is the fixture
    django_capture_on_commit_callbacks."""
    with capture(execute=True):
        response = post_import(client, target, data, name, **params)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = Job.objects.get(pk=resolve(response.url).kwargs["pk"])
    assert job.is_final
    return job


def rejections(job: Job) -> list[tuple[int, str]]:
    return list(job.rejections.order_by("line").values_list("line", "reason"))
