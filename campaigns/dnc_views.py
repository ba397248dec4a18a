"""Do-not-call lists: the tenant's lists, one list's entries, and their changes."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import donotcall
from campaigns.dnc_forms import DoNotCallEntryForm, DoNotCallListForm
from campaigns.donotcall import InvalidAddress, normalise
from campaigns.imports import DoNotCallEntryImporter
from campaigns.models import Campaign, DoNotCallEntry, DoNotCallList
from contactcenter.access import get_for_tenant, tenant_of
from contactcenter.paging import keyset_page
from contactcenter.phones import SEPARATORS, PhoneReader

PER_PAGE = 50


def _count(queryset, column: str) -> Coalesce:
    """How many rows of `queryset` point at the outer row through `column`."""
    counted = queryset.filter(**{column: OuterRef("pk")}).values(column).annotate(n=Count("*"))
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), 0)


@permission_required("campaigns.view_donotcalllist", raise_exception=True)
def dnc_list(request: HttpRequest) -> HttpResponse:
    through = Campaign.do_not_call_lists.through.objects
    lists = DoNotCallList.objects.for_tenant(tenant_of(request)).annotate(
        entry_count=_count(DoNotCallEntry.objects, "dnc_list"),
        campaign_count=_count(through, "donotcalllist"),
    )
    return render(request, "campaigns/dnc_list.html", {"lists": lists})


def _list_form(request: HttpRequest, dnc: DoNotCallList | None) -> HttpResponse:
    form = DoNotCallListForm(request.POST or None, instance=dnc, tenant=tenant_of(request))
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.tenant = form.tenant
        saved.save()
        messages.success(request, _("Do-not-call list “%(name)s” saved.") % {"name": saved.name})
        return redirect("campaigns:dnc_detail", saved.pk)
    context = {"form": form, "dnc": dnc}
    return render(request, "campaigns/dnc_form.html", context, status=400 if form.errors else 200)


@permission_required("campaigns.add_donotcalllist", raise_exception=True)
def dnc_create(request: HttpRequest) -> HttpResponse:
    return _list_form(request, None)


def dnc_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _list_form(
        request, get_for_tenant(DoNotCallList, request, pk, "campaigns.change_donotcalllist")
    )


def dnc_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm (GET), then delete (POST) the list, its entries and the blocks only it made."""
    dnc = get_for_tenant(DoNotCallList, request, pk, "campaigns.delete_donotcalllist")
    if request.method == "POST":
        donotcall.dnc_list_delete(dnc_list=dnc)
        messages.success(request, _("Do-not-call list “%(name)s” deleted.") % {"name": dnc.name})
        return redirect("campaigns:dnc_list")
    context = {"dnc": dnc, "entries": dnc.entries.count(), "campaigns": dnc.campaign_set.all()}
    return render(request, "campaigns/dnc_confirm_delete.html", context)


def dnc_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dnc = get_for_tenant(DoNotCallList, request, pk, "campaigns.view_donotcalllist")
    return _detail(request, dnc, DoNotCallEntryForm(tenant=dnc.tenant))


def _detail(request: HttpRequest, dnc: DoNotCallList, form, status: int = 200) -> HttpResponse:
    """The list's entries, searched and paged by value, with the form to add one."""
    query = request.GET.get("q", "").strip()
    entries = _search(dnc, query)
    page = keyset_page(
        entries,
        "value",
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        per_page=PER_PAGE,
    )
    context = {
        "dnc": dnc,
        "page": page,
        "q": query,
        "query": urlencode({"q": query}) if query else "",
        "total": dnc.entries.count(),
        "campaigns": dnc.campaign_set.all(),
        "form": form,
        "importer": DoNotCallEntryImporter,
    }
    return render(request, "campaigns/dnc_detail.html", context, status=status)


def _search(dnc: DoNotCallList, query: str):
    """A number or email as written anywhere finds its entry; else a part of the stored value."""
    entries = (
        DoNotCallEntry.objects.for_tenant(dnc.tenant)
        .filter(dnc_list=dnc)
        .annotate(
            expired=ExpressionWrapper(
                Q(expires_on__lt=timezone.localdate()), output_field=BooleanField()
            )
        )
    )
    if not query:
        return entries
    try:
        return entries.filter(value=normalise(query, PhoneReader(dnc.tenant.default_phone_region)))
    except InvalidAddress:
        return entries.filter(value__contains=query.lower().translate(SEPARATORS))


@require_POST
def dnc_entry_add(request: HttpRequest, pk: int) -> HttpResponse:
    dnc = get_for_tenant(DoNotCallList, request, pk, "campaigns.change_donotcalllist")
    form = DoNotCallEntryForm(request.POST or None, tenant=dnc.tenant)
    if not form.is_valid():
        return _detail(request, dnc, form, status=400 if form.errors else 200)
    entry, created = donotcall.dnc_entry_add(dnc_list=dnc, **form.cleaned_data)
    text = (
        _("“%(value)s” added.") if created else _("“%(value)s” was listed: its expiry is updated.")
    )
    messages.success(request, text % {"value": entry.value})
    return redirect("campaigns:dnc_detail", dnc.pk)


@require_POST
def dnc_entry_delete(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_for_tenant(DoNotCallEntry, request, pk, "campaigns.change_donotcalllist")
    donotcall.dnc_entry_delete(entry=entry)
    messages.success(request, _("“%(value)s” removed from the list.") % {"value": entry.value})
    return redirect(reverse("campaigns:dnc_detail", args=[entry.dnc_list_id]))
