from __future__ import annotations

import uuid
from typing import Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Tenant(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    default_phone_region = models.CharField(
        _("default phone region"),
        max_length=2,
        default="FR",
        help_text=_("ISO 3166 country code used to read national phone numbers, e.g. FR."),
    )
    default_time_zone = models.CharField(
        _("default time zone"), max_length=64, default="Europe/Paris"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who logs in. Tenant users belong to exactly one tenant; platform staff to none."""

    tenant = models.ForeignKey(
        Tenant,
        verbose_name=_("tenant"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    @property
    def role_names(self) -> list[str]:
        return [group.name for group in self.groups.all()]

    @property
    def role_labels(self) -> list[str]:
        from contactcenter.roles import LABELS

        return [str(LABELS.get(name, name)) for name in self.role_names]


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant | None) -> Self:
        """The only way to reach a tenant's rows; no tenant (platform staff) reaches none."""
        if tenant is None:
            return self.none()
        return self.filter(tenant=tenant)


class TenantModel(models.Model):
    """Base of every domain row: it carries its tenant and is reached through for_tenant()."""

    # No index of its own: every tenant model leads its composite indexes and unique
    # constraints with tenant, and one more index per table would only slow imports.
    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, db_index=False
    )

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Job(TenantModel):
    """One bulk import or export, run by a Celery worker; see DESIGN.md "Jobs"."""

    class Kind(models.TextChoices):
        IMPORT = "import", _("Import")
        EXPORT = "export", _("Export")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Partially succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    FINAL_STATUSES = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requester"),
        on_delete=models.CASCADE,
        related_name="jobs",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    target = models.CharField(_("target"), max_length=100)
    options = models.JSONField(_("options"), default=dict, blank=True)
    input_file = models.FileField(_("input file"), upload_to="jobs/input/", blank=True)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    message = models.TextField(_("message"), blank=True)
    total = models.PositiveIntegerField(_("rows in file"), null=True, blank=True)
    processed = models.PositiveIntegerField(_("rows processed"), default=0)
    created = models.PositiveIntegerField(_("rows created"), default=0)
    updated = models.PositiveIntegerField(_("rows updated"), default=0)
    rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    result_file = models.FileField(_("result file"), upload_to="jobs/output/", blank=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now, editable=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "requester", "-created_at"]),
            models.Index(fields=["tenant", "-created_at"]),
        ]
        permissions = [("view_all_jobs", _("Can view every job of the tenant"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("job_detail", args=[self.pk])

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @property
    def can_cancel(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.is_final and self.status != self.Status.CANCELLED:
            return 100
        if not self.total:
            return 0
        return min(100, self.processed * 100 // self.total)


class ImportedRow(models.Model):
    """Mixin for rows a job can create: they remember the job, so that it can be undone."""

    import_job = models.ForeignKey(
        Job,
        verbose_name=_("import job"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


class EqualityIndex(models.Index):
    """An index for `column = value` and `column = ANY(values)` only: a hash index on
    PostgreSQL, a B-tree elsewhere (SQLite has no other kind).

    For a column whose values arrive in no order (phone numbers, emails) on a table written a
    million rows at a time: each new entry then lands on a random page of a B-tree, which
    splits and is logged page by page as it grows. A hash index keeps only the values' hashes
    in buckets: for a campaign import (1M contacts, 1.7M addresses) it cost 4 s of PostgreSQL
    CPU less than the B-tree, of 20 s for the whole statement. It serves no sort, no range,
    no LIKE, and one column only.
    """

    def __init__(self, *, fields, name, **options):
        if len(fields) != 1:
            raise ValueError("EqualityIndex covers one column (a hash index on PostgreSQL)")
        super().__init__(fields=fields, name=name, **options)

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            using = " USING hash"
        return super().create_sql(model, schema_editor, using=using, **kwargs)


def tenant_without_constraint() -> models.ForeignKey:
    """TenantModel.tenant for a table written a million rows at a time: no foreign-key
    constraint in the database, which PostgreSQL checks once per inserted row (~4 µs). The
    tenant is set by the server, never read from a file; Django's on_delete still cascades."""
    return models.ForeignKey(
        Tenant,
        verbose_name=_("tenant"),
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
    )


def import_job_without_constraint(**options) -> models.ForeignKey:
    """ImportedRow.import_job without its database constraint, for the same reason."""
    return models.ForeignKey(
        Job,
        verbose_name=_("import job"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        **options,
    )


class JobRejection(models.Model):
    """A rejected row, written in the same transaction as the batch it belongs to."""

    # Indexed by (job, line) below, which also serves lookups by job alone. No constraint in
    # the database: its check, deferred to the commit, looked the job up again for every row
    # (5 s of the commit of an import that rejects 500,000). The engine writes rejections
    # while it holds the job's row locked, and deleting a job deletes them (Django's CASCADE).
    job = models.ForeignKey(
        Job,
        on_delete=models.CASCADE,
        related_name="rejections",
        db_index=False,
        db_constraint=False,
    )
    line = models.PositiveIntegerField(_("line"))
    values = models.JSONField(_("values"), default=list)
    reason = models.TextField(_("reason"))

    class Meta:
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        ordering = ["job", "line"]
        indexes = [models.Index(fields=["job", "line"])]

    def __str__(self) -> str:
        return f"{self.line}: {self.reason}"


class Notification(TenantModel):
    class Level(models.TextChoices):
        INFO = "info", _("Information")
        SUCCESS = "success", _("Success")
        WARNING = "warning", _("Warning")
        ERROR = "error", _("Error")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, default=Level.INFO)
    text = models.TextField(_("text"))
    link = models.CharField(_("link"), max_length=500, blank=True)
    is_read = models.BooleanField(_("read"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "user", "is_read", "-created_at"])]

    def __str__(self) -> str:
        return self.text[:80]
