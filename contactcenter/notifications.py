"""Posting to the in-app notification feed."""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from contactcenter.models import Job, Notification, User


def notify(
    *, user: User, text: str, level: str = Notification.Level.INFO, link: str = ""
) -> Notification:
    return Notification.objects.create(
        tenant=user.tenant, user=user, text=text, level=level, link=link
    )


_LEVELS = {
    Job.Status.SUCCEEDED: Notification.Level.SUCCESS,
    Job.Status.PARTIAL: Notification.Level.WARNING,
    Job.Status.FAILED: Notification.Level.ERROR,
    Job.Status.CANCELLED: Notification.Level.INFO,
}


def job_summary(job: Job) -> str:
    """One sentence saying how a job ended, in the active language."""
    n = {
        f: number_format(getattr(job, f), force_grouping=True)
        for f in ("created", "updated", "rejected", "processed")
    }
    what = job.original_name or job.target
    if job.kind == Job.Kind.EXPORT:
        if job.status == Job.Status.SUCCEEDED:
            return _("Export ready: %(rows)s rows in %(name)s.") % {
                "rows": n["processed"],
                "name": what,
            }
        return _("Export %(name)s: %(status)s. %(message)s") % {
            "name": what,
            "status": job.get_status_display(),
            "message": job.message,
        }
    if job.status == Job.Status.FAILED and job.message:
        return _("Import of %(name)s failed: %(message)s") % {"name": what, "message": job.message}
    return _(
        "Import of %(name)s %(status)s: %(created)s created, %(updated)s updated, %(rejected)s rejected."
    ) % {"name": what, "status": job.get_status_display().lower(), **n}


def notify_job_finished(job: Job) -> Notification:
    # The worker has no request: speak the language the requester chose when uploading.
    with override(job.options.get("language") or None):
        return notify(
            user=job.requester,
            text=job_summary(job),
            level=_LEVELS[job.status],
            link=job.get_absolute_url(),
        )
