"""External contacts as an address-book source."""

from __future__ import annotations

from collections.abc import Iterator

from django.utils.translation import gettext_lazy as _

from addressbook import search
from addressbook.models import ExternalContact, name_key
from contactcenter.models import Tenant
from contactcenter.registry import DirectoryEntry, DirectorySource


def external_contacts(tenant: Tenant, query: str, limit: int) -> Iterator[DirectoryEntry]:
    contacts = ExternalContact.objects.for_tenant(tenant)
    if query.split():
        contacts = search.filter_contacts(contacts, tenant, search.words(query))
    rows = contacts.order_by(name_key())[:limit]
    kind = str(_("External contact"))
    found = [
        DirectoryEntry(
            name=c.name,
            kind=kind,
            phone=c.phone,
            mobile=c.mobile,
            email=c.email,
            link=c.get_absolute_url(),
        )
        for c in rows
    ]
    yield from sorted(found, key=lambda entry: entry.sort_key)


SOURCE = DirectorySource("external_contacts", _("External contacts"), external_contacts)
