import os

from celery import Celery
from celery.signals import worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")

app = Celery("contactcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def set_allocator(**_kwargs) -> None:
    """Big blocks unmapped as soon as freed (allocator.keep_large_blocks_apart): a worker's
    memory then follows what its job holds. Set before the pool starts: a prefork pool's
    processes inherit it."""
    from contactcenter import allocator

    allocator.keep_large_blocks_apart()


@worker_ready.connect
def resume_follow_up_work(**_kwargs) -> None:
    """Apps' work a dead worker may have left half done (search rows to write, say): each
    registered callable queues what is left. Safe with any broker: the work is idempotent."""
    from contactcenter import registry

    for resume in registry.on_worker_ready:
        resume()


@worker_ready.connect
def resume_orphaned_jobs(**_kwargs) -> None:
    """The embedded file-system broker deletes a message as it hands it out, so a job whose
    worker died is never re-delivered. With that broker there is a single local worker: any
    job still "running" when it starts was orphaned, and resumes from its last batch.
    Redis re-delivers by itself (acks_late + visibility timeout).
    """
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        return
    from contactcenter.models import Job
    from contactcenter.tasks import run_job

    for job_id in Job.objects.filter(status=Job.Status.RUNNING).values_list("pk", flat=True):
        run_job.delay(str(job_id))
