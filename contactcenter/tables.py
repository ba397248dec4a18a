import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from contactcenter.models import Job


class JobTable(tables.Table):
    created_at = tables.DateTimeColumn(
        verbose_name=_("Requested"), linkify=True, format="SHORT_DATETIME_FORMAT"
    )
    kind = tables.Column(verbose_name=_("Kind"))
    original_name = tables.Column(verbose_name=_("File"), default="—")
    requester = tables.Column(verbose_name=_("Requester"), accessor="requester__username")
    status = tables.TemplateColumn(
        template_name="contactcenter/_job_status_badge.html", verbose_name=_("Status")
    )
    processed = tables.Column(verbose_name=_("Processed"))
    created = tables.Column(verbose_name=_("Created"))
    rejected = tables.Column(verbose_name=_("Rejected"))

    class Meta:
        model = Job
        fields = (
            "created_at",
            "kind",
            "original_name",
            "requester",
            "status",
            "processed",
            "created",
            "rejected",
        )
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = _("No jobs yet.")
