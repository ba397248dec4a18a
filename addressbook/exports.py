"""External contacts out through the jobs engine: the template's columns, the user's selection."""

from __future__ import annotations

from django.db.models import Case, QuerySet, When
from django.utils.translation import gettext_lazy

from addressbook.filters import ExternalContactFilter
from addressbook.models import ExternalContact, name_key
from contactcenter.jobs.exporting import Exporter


class ExternalContactExporter(Exporter):
    target = "addressbook.externalcontact"
    verbose_name = gettext_lazy("external contacts")
    permission = "addressbook.export_externalcontact"
    fields = (
        ("Name", "name"),
        ("Address", "address"),
        ("Phone", "phone_out"),
        ("Mobile", "mobile_out"),
        ("Other", "other"),
        ("Email", "email"),
    )
    phone_columns = frozenset({"Phone", "Mobile"})
    text_columns = True
    filename = "external-contacts"

    def queryset(self) -> QuerySet:
        """The selection the user made: ids, or everything the saved filter matches."""
        contacts = ExternalContact.objects.for_tenant(self.tenant)
        if "ids" in self.options:
            contacts = contacts.filter(pk__in=self.options["ids"])
        else:
            contacts = ExternalContactFilter(
                self.options.get("filter", {}), queryset=contacts, tenant=self.tenant
            ).qs
        # A number typed "+33 6 …" would need the formula quote: its E.164 form is as safe
        # and re-imports to the same number, without a visible quote in the spreadsheet.
        # By the unique constraint's key: its index walks the rows in order, nothing to sort.
        return contacts.order_by(name_key()).annotate(
            phone_out=Case(When(phone__startswith="+", then="phone_e164"), default="phone"),
            mobile_out=Case(When(mobile__startswith="+", then="mobile_e164"), default="mobile"),
        )
