"""Writes on external contacts and address books."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from addressbook.filters import ExternalContactFilter
from addressbook.forms import ExternalContactForm
from addressbook.models import ExternalContact
from contactcenter.models import Tenant


def contact_save(*, form: ExternalContactForm) -> ExternalContact | None:
    """Save a validated create/edit form in the form's tenant; None (and a form error) if the
    name was taken meanwhile."""
    contact = form.save(commit=False)
    contact.tenant = form.tenant
    contact.updated_at = timezone.now()
    try:
        # The form checked the name; someone may have taken it since: the constraint decides.
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        form.add_error(
            "name", _("A contact named “%(name)s” already exists.") % {"name": contact.name}
        )
        return None
    return contact


def contacts_selected(*, tenant: Tenant, data: QueryDict) -> QuerySet:
    """The rows a bulk action applies to: ticked ids, or all that match the page's filter.

    An id that is not a contact of this tenant makes the whole request a 404.
    """
    contacts = ExternalContact.objects.for_tenant(tenant)
    if data.get("select_all") == "1":
        return ExternalContactFilter(
            QueryDict(data.get("filter", "")), queryset=contacts, tenant=tenant
        ).qs
    try:
        ids = {int(pk) for pk in data.getlist("selection")}
    except ValueError:
        raise Http404("Bad selection") from None
    selected = contacts.filter(pk__in=ids)
    if not ids or selected.count() != len(ids):
        raise Http404("Unknown contact in selection")
    return selected


def selection_options(data: QueryDict) -> dict:
    """The same selection as plain data, for an export job to replay."""
    if data.get("select_all") == "1":
        return {"filter": dict(QueryDict(data.get("filter", "")).items())}
    return {"ids": sorted(int(pk) for pk in data.getlist("selection"))}


@transaction.atomic
def contacts_delete(*, contacts: QuerySet) -> int:
    """Delete the selection; with nothing pointing at contacts, Django does it in one DELETE."""
    deleted, _by_model = contacts.order_by().delete()
    return deleted
