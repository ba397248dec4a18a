from __future__ import annotations

import heapq
from itertools import islice

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin, SingleTableView

from addressbook import services
from addressbook.exports import ExternalContactExporter
from addressbook.filters import ExternalContactFilter
from addressbook.forms import AddressBookForm, ExternalContactForm
from addressbook.models import AddressBook, ExternalContact, SearchBacklog, name_key
from addressbook.tables import AddressBookTable, ExternalContactTable
from contactcenter import registry
from contactcenter.access import get_for_tenant, tenant_of
from contactcenter.forms import ExportForm
from contactcenter.paging import keyset_page
from contactcenter.views import export_selection

SORTABLE = {"name", "phone", "mobile", "address", "email", "other"}
PER_PAGE = 25


class ContactListView(PermissionRequiredMixin, SingleTableMixin, FilterView):
    permission_required = "addressbook.view_externalcontact"
    table_class = ExternalContactTable
    filterset_class = ExternalContactFilter
    template_name = "addressbook/contact_list.html"
    table_pagination = False

    def get_queryset(self):
        # Sorting "by name" is by the unique constraint's key (trimmed, lower-cased): its index
        # gives the order, and "ada" and "Bob" sort as a reader expects.
        return ExternalContact.objects.for_tenant(tenant_of(self.request)).annotate(
            name_key=name_key()
        )

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "tenant": tenant_of(self.request)}

    def get_table_kwargs(self):
        # Checkboxes only for those who have a bulk action to use them with.
        kwargs = {"user": self.request.user, "csrf_token": get_token(self.request)}
        return (
            kwargs if _has_bulk_action(self.request.user) else {**kwargs, "exclude": ("selection",)}
        )

    def get_table_data(self):
        # One page by keyset; the table re-sorts only these rows, in the database's collation.
        sort = self.request.GET.get("sort", "name")
        sort = sort if sort.lstrip("-") in SORTABLE else "name"
        by_name = sort.lstrip("-") == "name"
        order = sort.replace("name", "name_key") if by_name else sort
        self.page = keyset_page(
            self.object_list,
            order,
            after=self.request.GET.get("after", ""),
            before=self.request.GET.get("before", ""),
            per_page=PER_PAGE,
            unique=by_name,
        )
        tie = [] if by_name else [order.replace(order.lstrip("-"), "pk")]
        page = self.get_queryset().filter(pk__in=[row.pk for row in self.page.rows])
        return page.order_by(order, *tie)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        for key in ("after", "before"):
            query.pop(key, None)
        context.update(
            page=self.page,
            query=query.urlencode(),
            export_form=ExportForm(),
            indexing=SearchBacklog.objects.filter(tenant=tenant_of(self.request)).exists(),
        )
        return context


@permission_required("addressbook.view_externalcontact", raise_exception=True)
def contact_count(request: HttpRequest) -> HttpResponse:
    """How many contacts match the filter; loaded after the page so that the page never waits."""
    contacts = ExternalContact.objects.for_tenant(tenant_of(request))
    total = ExternalContactFilter(
        request.GET, queryset=contacts, tenant=request.user.tenant
    ).qs.count()
    # The "select all N matching" offer only for those who have a bulk action to use it with.
    bulk = _has_bulk_action(request.user)
    return render(request, "addressbook/_contact_count.html", {"total": total, "bulk": bulk})


def _has_bulk_action(user) -> bool:
    return user.has_perm("addressbook.export_externalcontact") or user.has_perm(
        "addressbook.delete_externalcontact"
    )


@permission_required("addressbook.add_externalcontact", raise_exception=True)
def contact_create(request: HttpRequest) -> HttpResponse:
    form = ExternalContactForm(request.POST or None, tenant=tenant_of(request))
    if (
        request.method == "POST"
        and form.is_valid()
        and (contact := services.contact_save(form=form))
    ):
        messages.success(request, _("Contact “%(name)s” created.") % {"name": contact.name})
        return redirect("addressbook:contact_list")
    return render(
        request, "addressbook/contact_form.html", {"form": form}, status=400 if form.errors else 200
    )


def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_for_tenant(ExternalContact, request, pk, "addressbook.change_externalcontact")
    form = ExternalContactForm(request.POST or None, instance=contact, tenant=contact.tenant)
    if request.method == "POST" and form.is_valid() and services.contact_save(form=form):
        messages.success(request, _("Contact “%(name)s” saved.") % {"name": contact.name})
        return redirect("addressbook:contact_list")
    return render(
        request,
        "addressbook/contact_form.html",
        {"form": form, "contact": contact},
        status=400 if form.errors else 200,
    )


def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_for_tenant(ExternalContact, request, pk, "addressbook.delete_externalcontact")
    if request.method == "POST":
        services.contacts_delete(contacts=ExternalContact.objects.filter(pk=contact.pk))
        messages.success(request, _("Contact “%(name)s” deleted.") % {"name": contact.name})
        return redirect("addressbook:contact_list")
    return render(request, "addressbook/contact_confirm_delete.html", {"contact": contact})


@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponse:
    """Export or delete the selection: ticked rows or all that match (confirmation first)."""
    action = request.POST.get("action")
    if action == "delete":
        return _bulk_delete(request)
    if action == "export":
        return _bulk_export(request)
    messages.error(request, _("Choose an action."))
    return redirect("addressbook:contact_list")


@permission_required("addressbook.delete_externalcontact", raise_exception=True)
def _bulk_delete(request: HttpRequest) -> HttpResponse:
    contacts = services.contacts_selected(tenant=tenant_of(request), data=request.POST)
    if request.POST.get("confirmed") != "1":
        context = {
            "count": contacts.count(),
            "data": request.POST,
            "selection": request.POST.getlist("selection"),
        }
        return render(request, "addressbook/contact_confirm_bulk_delete.html", context)
    deleted = services.contacts_delete(contacts=contacts)
    messages.success(
        request,
        ngettext("%(count)d contact deleted.", "%(count)d contacts deleted.", deleted)
        % {"count": deleted},
    )
    return redirect(reverse("addressbook:contact_list") + "?" + request.POST.get("filter", ""))


@permission_required("addressbook.export_externalcontact", raise_exception=True)
def _bulk_export(request: HttpRequest) -> HttpResponse:
    contacts = services.contacts_selected(tenant=tenant_of(request), data=request.POST)
    selection = services.selection_options(request.POST)
    return export_selection(
        request, exporter=ExternalContactExporter, selection=selection, count=contacts.count()
    )


# --- address books -----------------------------------------------------------------------------


class BookListView(PermissionRequiredMixin, SingleTableView):
    permission_required = "addressbook.view_addressbook"
    table_class = AddressBookTable
    template_name = "addressbook/book_list.html"

    def get_queryset(self):
        return AddressBook.objects.for_tenant(tenant_of(self.request))


def book_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The merged entries of the book's sources, sorted by name, searchable."""
    book = get_for_tenant(AddressBook, request, pk, "addressbook.view_addressbook")
    query = request.GET.get("q", "").strip()
    limit = 100
    sources = [
        registry.directory_sources[key] for key in book.sources if key in registry.directory_sources
    ]
    streams = [source.entries(book.tenant, query, limit + 1) for source in sources]
    entries = list(islice(heapq.merge(*streams, key=lambda e: e.sort_key), limit + 1))
    context = {
        "book": book,
        "entries": entries[:limit],
        "more": len(entries) > limit,
        "q": query,
        "sources": sources,
    }
    return render(request, "addressbook/book_detail.html", context)


def _book_form(request: HttpRequest, book: AddressBook | None) -> HttpResponse:
    form = AddressBookForm(request.POST or None, instance=book, tenant=tenant_of(request))
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.tenant = form.tenant
        saved.save()
        messages.success(request, _("Address book “%(name)s” saved.") % {"name": saved.name})
        return redirect(saved)
    return render(
        request,
        "addressbook/book_form.html",
        {"form": form, "book": book},
        status=400 if form.errors else 200,
    )


@permission_required("addressbook.add_addressbook", raise_exception=True)
def book_create(request: HttpRequest) -> HttpResponse:
    return _book_form(request, None)


def book_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _book_form(
        request, get_for_tenant(AddressBook, request, pk, "addressbook.change_addressbook")
    )


def book_delete(request: HttpRequest, pk: int) -> HttpResponse:
    book = get_for_tenant(AddressBook, request, pk, "addressbook.delete_addressbook")
    if request.method == "POST":
        book.delete()
        messages.success(
            request,
            _("Address book “%(name)s” deleted. The contacts themselves are kept.")
            % {"name": book.name},
        )
        return redirect("addressbook:book_list")
    return render(request, "addressbook/book_confirm_delete.html", {"book": book})
