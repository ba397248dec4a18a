import gc

from celery import shared_task

from contactcenter import allocator
from contactcenter.jobs.exporting import run_export
from contactcenter.jobs.importing import run_import
from contactcenter.models import Job


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_job(job_id: str) -> None:
    """Run one import or export job. Safe to deliver twice (see contactcenter/jobs/importing.py)."""
    kind = Job.objects.filter(pk=job_id).values_list("kind", flat=True).first()
    try:
        if kind == Job.Kind.IMPORT:
            run_import(job_id)
        elif kind == Job.Kind.EXPORT:
            run_export(job_id)
    finally:
        release_memory()


def release_memory() -> None:
    """Give back to the system what a job's batches took, so the next job starts as low.

    A worker lives for many jobs: without this, glibc's allocator keeps the freed memory of an
    import's batches (the bench's worker started its second import at 127 MB instead of 97).
    """
    gc.collect()
    allocator.trim()
