from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from contactcenter.models import ImportedRow, TenantModel


class SampleRecord(TenantModel, ImportedRow):
    """A name and a phone number: just enough to prove the jobs engine end to end."""

    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    phone_e164 = models.CharField(_("phone (E.164)"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=250, blank=True)

    class Meta:
        verbose_name = _("sample record")
        verbose_name_plural = _("sample records")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("tenant", Lower("name"), name="sandbox_record_unique_name")
        ]
        permissions = [
            ("import_samplerecord", _("Can import sample records")),
            ("export_samplerecord", _("Can export sample records")),
        ]

    def __str__(self) -> str:
        return self.name
