"""Platform services: starting, cancelling and undoing jobs."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from contactcenter import registry
from contactcenter.jobs import files
from contactcenter.models import Job, User


def _queue(job: Job) -> None:
    from contactcenter.tasks import run_job

    transaction.on_commit(lambda: run_job.delay(str(job.pk)))


def missing_columns_message(missing: list[str], header: list[str]) -> str:
    return _(
        "The file has no %(missing)s column (columns found: %(found)s). "
        "Download the template to see the expected columns."
    ) % {
        "missing": ", ".join(_("“%(name)s”") % {"name": name} for name in missing),
        "found": ", ".join(_("“%(name)s”") % {"name": name} for name in header),
    }


@transaction.atomic
def job_start_import(*, user: User, target: str, upload, params: dict | None = None) -> Job:
    """Check the upload's structure now (FileRejected if bad), save it and queue the import.

    `params`: the importer's options_form cleaned data (JSON), already validated for the
    user's tenant; the job keeps it as options["params"].
    """
    importer = registry.importers[target]
    table = files.inspect(upload, upload.name, upload.size, importer.header_for_bare_file)
    _positions, missing, unknown = importer.map_header(table.header)
    if missing:
        raise files.FileRejected(missing_columns_message(missing, table.header))
    # Columns we do not know: kept (as custom fields, say) when the importer wants them.
    others = "kept_columns" if importer.other_columns_kept_as else "ignored_columns"
    job = Job(
        tenant=user.tenant,
        requester=user,
        kind=Job.Kind.IMPORT,
        target=target,
        original_name=upload.name[:255],
        options={
            "table": table.to_dict(),
            others: unknown,
            "params": params or {},
            "language": get_language(),
        },
    )
    job.input_file.save(get_valid_filename(upload.name) or "upload", upload, save=False)
    job.save()
    _queue(job)
    return job


@transaction.atomic
def job_start_export(*, user: User, target: str, options: dict) -> Job:
    job = Job.objects.create(
        tenant=user.tenant,
        requester=user,
        kind=Job.Kind.EXPORT,
        target=target,
        options={**options, "language": get_language()},
    )
    _queue(job)
    return job


@transaction.atomic
def job_undo(*, job: Job) -> int:
    """Remove what a finished import created; the job records when it was undone."""
    locked = Job.objects.select_for_update().get(pk=job.pk)
    if locked.kind != Job.Kind.IMPORT or not locked.is_final or locked.undone_at:
        return 0
    removed = registry.importers[locked.target](locked).undo()
    locked.undone_at = timezone.now()
    locked.save(update_fields=["undone_at"])
    job.refresh_from_db()
    return removed


def job_cancel(*, job: Job) -> bool:
    """Cancel a queued or running job; a running one stops after its current batch.

    Rows already written stay (an import can be undone afterwards). False if it had ended.
    """
    changed = Job.objects.filter(
        pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
    ).update(status=Job.Status.CANCELLED, finished_at=timezone.now())
    job.refresh_from_db()
    return bool(changed)
