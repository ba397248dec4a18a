"""django-import-export for the Django admin: the jobs engine's columns and rules, one tenant.

Platform staff choose the tenant on the import form; staff who belong to a tenant import into
theirs. Each row goes through the same checks as an upload (required, lengths, phones, email,
names already in the tenant or earlier in the file), so the admin cannot store what the
product would refuse. Large files belong to the product's import, which streams them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources

from addressbook.imports import ExternalContactImporter
from addressbook.models import ExternalContact
from contactcenter.jobs.exporting import neutralise
from contactcenter.jobs.importing import RowInvalid, check_row, format_errors

COLUMNS = {c.name: c.name.lower() for c in ExternalContactImporter.columns}


class ExternalContactResource(resources.ModelResource):
    name = fields.Field(attribute="name", column_name="Name")
    address = fields.Field(attribute="address", column_name="Address")
    phone = fields.Field(attribute="phone", column_name="Phone")
    mobile = fields.Field(attribute="mobile", column_name="Mobile")
    other = fields.Field(attribute="other", column_name="Other")
    email = fields.Field(attribute="email", column_name="Email")

    class Meta:
        model = ExternalContact
        fields = tuple(COLUMNS.values())
        export_order = tuple(COLUMNS.values())
        use_transactions = True

    def __init__(self, tenant=None, **kwargs):
        super().__init__(**kwargs)
        self.tenant = tenant
        self.seen: set[str] = set()
        self.cleaned: dict[int, tuple] = {}

    def get_instance(self, instance_loader, row):
        """Every row is a new contact: an existing name is refused, never overwritten."""
        return None

    def get_queryset(self):
        return ExternalContact.objects.for_tenant(self.tenant)

    def before_import_row(self, row, **kwargs):
        if self.tenant is None:
            raise ValidationError(_("Choose the tenant to import into."))
        importer = ExternalContactImporter(None, tenant=self.tenant)
        header = list(row.keys())
        positions, missing, _unknown = importer.map_header(header)
        values = ["" if row[key] is None else str(row[key]) for key in header]
        try:
            if missing:
                raise RowInvalid([(name, _("a value is required")) for name in missing])
            cleaned = check_row(importer, positions, values)
        except RowInvalid as exc:
            raise ValidationError(format_errors(exc.errors)) from None
        self._refuse_taken(cleaned[0])
        for position in positions.values():
            row[header[position]] = values[position].strip()
        self.cleaned[kwargs.get("row_number", 0)] = cleaned

    def _refuse_taken(self, name: str) -> None:
        key = name.lower()
        if key in self.seen:
            raise ValidationError(
                _("Name: “%(name)s” appears earlier in the file") % {"name": name}
            )
        if self.get_queryset().named(name).exists():
            raise ValidationError(_("Name: “%(name)s” already exists") % {"name": name})
        self.seen.add(key)

    def after_init_instance(self, instance, new, row, **kwargs):
        cleaned = self.cleaned.pop(kwargs.get("row_number", 0), None)
        instance.tenant = self.tenant
        if cleaned:
            instance.phone_e164, instance.mobile_e164 = cleaned[3], cleaned[5]

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        return neutralise(value, phone=field.column_name in ("Phone", "Mobile"))
