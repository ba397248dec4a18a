"""Writes on external contacts and address books."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from addressbook.filters import ExternalContactFilter
from addressbook.forms import ExternalContactForm
from addressbook.models import ContactSearch, ExternalContact
from contactcenter.models import Tenant

CONTACTS = ExternalContact._meta.db_table
SEARCH = ContactSearch._meta.db_table
# SQLite's limit of parameters a statement stays far off.
DELETE_CHUNK = 5000


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
    """Delete the selection and its search rows.

    The selection may be a search ("all that match 'fixe'"), which reads the search rows: the
    contacts go first, and the ids they had say which search rows follow them.
    """
    selection = contacts.order_by().values("pk")
    if connection.vendor == "postgresql":
        sql, params = selection.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH gone AS (DELETE FROM {CONTACTS} WHERE id IN ({sql}) RETURNING id), "  # noqa: S608
                f"unsearched AS (DELETE FROM {SEARCH} WHERE contact_id IN (SELECT id FROM gone)) "
                f"SELECT count(*) FROM gone",
                params,
            )
            return cursor.fetchone()[0]
    ids = list(selection.values_list("pk", flat=True))
    for start in range(0, len(ids), DELETE_CHUNK):
        chunk = ids[start : start + DELETE_CHUNK]
        ExternalContact.objects.filter(pk__in=chunk).delete()
        ContactSearch.objects.filter(contact_id__in=chunk).delete()
    return len(ids)
